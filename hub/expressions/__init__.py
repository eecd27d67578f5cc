"""Safe expressions over the run context ``{trigger, steps, vars}``.

Templates are strings with ``{{ <JMESPath> }}`` parts. A string that is exactly one
``{{ ... }}`` renders to the raw value (a number stays a number); mixed text renders to a
string. Conditions are one JMESPath expression, with or without the braces. JMESPath is a
data-only query language: there is no ``eval``, no attribute access and no code in a zap.

Every expression is held to the limits in ``hub.expressions.limits``: checked statically when
it compiles, and while it evaluates (node visits, time, size of every value it builds, inputs
of costly functions). Exceeding one raises ``ExpressionLimit`` (code ``expression_limit``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from jmespath.parser import ParsedResult

from hub.expressions import limits
from hub.expressions.budget import Budget
from hub.expressions.interpreter import search
from hub.expressions.limits import DEDUPE, DEFAULT, ExpressionError, ExpressionLimit, Limits
from hub.expressions.refs import root_references
from hub.expressions.static import compile_expression

__all__ = ["DEDUPE", "DEFAULT", "ROOTS", "ExpressionError", "ExpressionLimit", "Limits",
           "Template", "check_size", "compile_condition", "compile_expression",
           "compile_template", "evaluate", "evaluate_condition", "limits", "root_references",
           "truthy"]

ROOTS = ("trigger", "steps", "vars")
_UNBALANCED = "unbalanced '{{' / '}}' in template"


def evaluate(expr: ParsedResult, data: Any, within: Limits = DEFAULT) -> Any:
    """Evaluate one compiled expression within the limits; raise ``ExpressionError``.

    A result built by the expression is measured; one read from ``data`` as it is is not.
    """
    return search(expr, data, Budget(expr.expression, within))


def check_size(value: Any, what: str, within: Limits = DEFAULT) -> None:
    """Raise ``ExpressionLimit`` if ``value`` is too large to serialise in one go."""
    Budget("", within).costly(value, what)


def _search(expr: ParsedResult, ctx: dict[str, Any], budget: Budget) -> Any:
    budget.label = expr.expression
    return search(expr, ctx, budget)


def _to_text(value: Any, budget: Budget) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    budget.costly(value, "writing a value into text")
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Template:
    """A compiled template value; ``render(ctx)`` returns plain JSON data."""

    kind: str  # "const" | "expr" | "text" | "dict" | "list"
    value: Any

    def render(self, ctx: dict[str, Any]) -> Any:
        """Render with one budget for the whole value; raise ``ExpressionError``."""
        budget = Budget()
        result = self._render(ctx, budget)
        if self.kind in ("dict", "list", "text"):
            budget.label = ""
            budget.size(result)
        return result

    def _render(self, ctx: dict[str, Any], budget: Budget) -> Any:
        kind, value = self.kind, self.value
        if kind == "const":
            return value
        if kind == "expr":
            return _search(value, ctx, budget)
        if kind == "text":
            return self._text(ctx, budget)
        if kind == "dict":
            return {k: t._render(ctx, budget) for k, t in value.items()}
        return [t._render(ctx, budget) for t in value]

    def _text(self, ctx: dict[str, Any], budget: Budget) -> str:
        out, total = [], 0
        for part in self.value:
            text = part if isinstance(part, str) else _to_text(_search(part, ctx, budget), budget)
            total += len(text)
            budget.costly_size(total, "the text of a template")
            out.append(text)
        return "".join(out)

    def expressions(self) -> Iterator[tuple[str, ParsedResult]]:
        """Yield ``(relative path, compiled expression)`` for every expression inside."""
        if self.kind == "expr":
            yield "", self.value
        elif self.kind == "text":
            yield from (("", p) for p in self.value if not isinstance(p, str))
        elif self.kind == "dict":
            for key, sub in self.value.items():
                for path, expr in sub.expressions():
                    yield f".{key}{path}", expr
        elif self.kind == "list":
            for i, sub in enumerate(self.value):
                for path, expr in sub.expressions():
                    yield f"[{i}]{path}", expr


def _whole(text: str) -> str | None:
    """The inside of a string that is one ``{{ ... }}`` (surrounding blanks allowed)."""
    stripped = text.strip()
    if len(stripped) >= 4 and stripped.startswith("{{") and stripped.endswith("}}"):
        return stripped[2:-2]
    return None


def _split(text: str) -> list[Any]:
    """Literal text and compiled expressions, in one linear scan (no backtracking regex)."""
    parts: list[Any] = []
    pos = count = 0
    while (start := text.find("{{", pos)) >= 0:
        end = text.find("}}", start + 2)
        literal = text[pos:start]
        if end < 0 or "}}" in literal or "{{" in text[start + 2:end]:
            raise ExpressionError(_UNBALANCED)
        count += 1
        if count > limits.MAX_TEMPLATE_EXPRESSIONS:
            raise ExpressionLimit(f"a template holds more than "
                                  f"{limits.MAX_TEMPLATE_EXPRESSIONS} expressions")
        if literal:
            parts.append(literal)
        parts.append(compile_expression(text[start + 2:end]))
        pos = end + 2
    if "}}" in text[pos:]:  # a stray '}}' is almost always a typo, e.g. '{{ a }'
        raise ExpressionError(_UNBALANCED)
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def _compile_text(text: str) -> Template:
    if "{{" not in text and "}}" not in text:
        return Template("const", text)
    if len(text) > limits.MAX_TEMPLATE_CHARS:
        raise ExpressionLimit(f"template is longer than {limits.MAX_TEMPLATE_CHARS:,} "
                              f"characters ({len(text):,})")
    inner = _whole(text)
    if inner is not None and "{{" not in inner:
        return Template("expr", compile_expression(inner))
    return Template("text", _split(text))


def compile_template(value: Any) -> Template:
    """Compile a JSON-like value whose strings may hold ``{{ ... }}`` expressions."""
    if isinstance(value, str):
        return _compile_text(value)
    if isinstance(value, dict):
        return Template("dict", {str(k): compile_template(v) for k, v in value.items()})
    if isinstance(value, list):
        return Template("list", [compile_template(v) for v in value])
    return Template("const", value)


def compile_condition(text: str) -> ParsedResult:
    """Compile a condition: one JMESPath expression, optionally wrapped in ``{{ }}``."""
    inner = _whole(text)
    return compile_expression(inner if inner is not None else text)


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string, list and object are false; 0 is true."""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and not value)


def evaluate_condition(expr: ParsedResult, ctx: dict[str, Any]) -> bool:
    return truthy(evaluate(expr, ctx))
