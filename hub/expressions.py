"""Safe expressions over the run context ``{trigger, steps, vars}``.

Templates are strings with ``{{ <JMESPath> }}`` parts. A string that is exactly one
``{{ ... }}`` renders to the raw value (a number stays a number); mixed text renders to a
string. Conditions are one JMESPath expression, with or without the braces. JMESPath is a
data-only query language: there is no ``eval``, no attribute access and no code in a zap.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jmespath
from jmespath import exceptions as jexc
from jmespath.functions import Functions
from jmespath.parser import ParsedResult
from jmespath.visitor import TreeInterpreter

ROOTS = ("trigger", "steps", "vars")
_PART = re.compile(r"\{\{(.*?)\}\}", re.S)
_WHOLE = re.compile(r"^\s*\{\{(.*?)\}\}\s*$", re.S)
_FUNCTIONS: dict[str, Any] = Functions.FUNCTION_TABLE  # type: ignore[attr-defined]


class ExpressionError(ValueError):
    """An expression does not parse or does not evaluate."""


def _compile(source: str) -> ParsedResult:
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    try:
        parsed = jmespath.compile(text)
        problem = _function_problem(parsed.parsed)
    except jexc.JMESPathError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        detail = detail.removesuffix(", for expression:").rstrip(":")
        raise ExpressionError(f"invalid expression '{text}': {detail}") from None
    except RecursionError:
        raise ExpressionError(f"invalid expression '{text[:80]}': nested too deeply") from None
    if problem:
        raise ExpressionError(f"invalid expression '{text}': {problem}")
    return parsed


def _function_problem(node: dict[str, Any]) -> str | None:
    """Unknown functions and wrong argument counts fail when compiling, not at run time."""
    if node["type"] == "function_expression":
        name, given = node["value"], len(node["children"])
        spec = _FUNCTIONS.get(name)
        if spec is None:
            return f"unknown function {name}() (known: {', '.join(sorted(_FUNCTIONS))})"
        params = spec["signature"]
        variadic = any(p.get("variadic") for p in params)
        if given < len(params) or (given > len(params) and not variadic):
            more = " or more" if variadic else ""
            return f"{name}() takes {len(params)}{more} argument(s), got {given}"
    children = [c for c in node.get("children") or [] if isinstance(c, dict)]
    return next((p for p in map(_function_problem, children) if p), None)


class _DataInterpreter(TreeInterpreter):
    """Reads fields of dicts only: jmespath would call ``.get(name)`` on any Python object."""

    def visit_field(self, node: dict[str, Any], value: Any) -> Any:
        return value.get(node["value"]) if isinstance(value, dict) else None


def _search(expr: ParsedResult, ctx: dict[str, Any]) -> Any:
    try:
        return _DataInterpreter().visit(expr.parsed, ctx)
    except (jexc.JMESPathError, TypeError, ValueError) as exc:
        # jmespath 1.x raises a bare TypeError for e.g. "x" > 1 (strings are orderable there)
        raise ExpressionError(f"cannot evaluate '{expr.expression}': {exc}") from None
    except RecursionError:
        raise ExpressionError(f"cannot evaluate '{expr.expression[:80]}': nested too deeply")\
            from None


def _to_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True)
class Template:
    """A compiled template value; ``render(ctx)`` returns plain JSON data."""

    kind: str  # "const" | "expr" | "text" | "dict" | "list"
    value: Any

    def render(self, ctx: dict[str, Any]) -> Any:
        kind, value = self.kind, self.value
        if kind == "const":
            return value
        if kind == "expr":
            return _search(value, ctx)
        if kind == "text":
            return "".join(p if isinstance(p, str) else _to_text(_search(p, ctx)) for p in value)
        if kind == "dict":
            return {k: t.render(ctx) for k, t in value.items()}
        return [t.render(ctx) for t in value]

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


def _compile_text(text: str) -> Template:
    whole = _WHOLE.match(text)
    if whole and "{{" not in whole.group(1):
        return Template("expr", _compile(whole.group(1)))
    parts: list[Any] = []
    pos = 0
    for match in _PART.finditer(text):
        if match.start() > pos:
            parts.append(text[pos:match.start()])
        parts.append(_compile(match.group(1)))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    # a stray '{{' or '}}' outside the expressions is almost always a typo, e.g. '{{ a }'
    if any(isinstance(p, str) and ("{{" in p or "}}" in p) for p in parts):
        raise ExpressionError("unbalanced '{{' / '}}' in template")
    if all(isinstance(p, str) for p in parts):
        return Template("const", text)
    return Template("text", parts)


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
    whole = _WHOLE.match(text)
    return _compile(whole.group(1) if whole else text)


def truthy(value: Any) -> bool:
    """JMESPath truthiness: false, null, empty string, list and object are false; 0 is true."""
    if value is None or value is False:
        return False
    return not (isinstance(value, str | list | dict) and not value)


def evaluate_condition(expr: ParsedResult, ctx: dict[str, Any]) -> bool:
    return truthy(_search(expr, ctx))


# --- static analysis: which root names and steps an expression reads -----------------------

_RELATIVE_RIGHT = {"projection", "value_projection", "filter_projection", "flatten", "pipe"}
#: nodes whose first child is read first, e.g. the ``a`` of ``a[1:]`` (a projection)
_HEADED = _RELATIVE_RIGHT - {"pipe"} | {"subexpression", "index_expression"}


def root_references(expr: ParsedResult) -> Iterator[tuple[str, str | None]]:
    """Yield ``(root name, next field or None)`` for each path read from the context root."""
    for root, nxt in _walk(expr.parsed, at_root=True):
        yield root, nxt or None


def _first_field(node: dict[str, Any]) -> str | None:
    if node["type"] == "field":
        return node["value"]
    if node["type"] in _HEADED and node["children"]:
        return _first_field(node["children"][0])
    return None


def _lead(node: dict[str, Any]) -> tuple[str, str | None] | None:
    """For a root-level chain like ``steps.a.b`` return ``("steps", "a")``.

    ``""`` as the second item means "something other than a name follows" (``trigger[0].x``).
    """
    if node["type"] == "field":
        return node["value"], None
    if node["type"] in ("subexpression", "index_expression") and node["children"]:
        head = _lead(node["children"][0])
        if head and head[1] is None and len(node["children"]) > 1:
            return head[0], _first_field(node["children"][1]) or ""
        return head
    return None


def _walk(node: dict[str, Any], at_root: bool) -> Iterator[tuple[str, str | None]]:
    kind = node["type"]
    children = [c for c in node.get("children") or [] if isinstance(c, dict)]
    if kind == "expref":
        return  # evaluated against each element by the function, never the root
    if at_root and kind in ("field", "subexpression", "index_expression"):
        lead = _lead(node)
        if lead:
            yield lead
            return
    if kind in _RELATIVE_RIGHT or kind in ("subexpression", "index_expression"):
        if children:
            yield from _walk(children[0], at_root)
        return  # the right-hand side reads the left side's result, not the root
    for child in children:
        yield from _walk(child, at_root)
