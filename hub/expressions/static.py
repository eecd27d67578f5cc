"""Compiling one expression, and refusing at compile time what is costly by construction:
over-long text, large or deep syntax trees, unknown functions, wrong argument counts, and
expressions whose result can be many times larger than what they read (``a | [@, @] | ...``).
"""

from __future__ import annotations

from typing import Any

import jmespath
from jmespath import exceptions as jexc
from jmespath.functions import Functions
from jmespath.parser import ParsedResult

from hub.expressions import limits as lim
from hub.expressions.limits import ExpressionError, ExpressionLimit

_FUNCTIONS: dict[str, Any] = Functions.FUNCTION_TABLE  # type: ignore[attr-defined]
#: nodes whose result is read from their input or is a constant of the expression's own size
_LEAVES = frozenset({"field", "index", "slice", "current", "identity", "literal",
                     "comparator", "not_expression"})
#: nodes that apply their children one after the other: the growth factors multiply
_CHAINED = frozenset({"subexpression", "pipe", "index_expression", "projection",
                      "value_projection"})
_SUMMED_FUNCTIONS = frozenset({"merge", "not_null"})


def _short(text: str) -> str:
    return text if len(text) <= 80 else text[:77] + "..."


def compile_expression(source: str) -> ParsedResult:
    """Compile one JMESPath expression and check it statically; raise ExpressionError."""
    text = source.strip()
    if not text:
        raise ExpressionError("empty expression")
    if len(text) > lim.MAX_EXPRESSION_CHARS:
        raise ExpressionLimit(f"expression is longer than {lim.MAX_EXPRESSION_CHARS:,} "
                              f"characters ({len(text):,})")
    try:
        parsed = jmespath.compile(text)
    except jexc.JMESPathError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        detail = detail.removesuffix(", for expression:").rstrip(":")
        raise ExpressionError(f"invalid expression '{_short(text)}': {detail}") from None
    except RecursionError:
        raise ExpressionLimit(f"invalid expression '{_short(text)}': nested too deeply")\
            from None
    problem = _tree_problem(parsed.parsed)
    if problem:
        raise ExpressionLimit(f"expression '{_short(text)}': {problem}")
    problem = _function_problem(parsed.parsed)
    if problem:
        raise ExpressionError(f"invalid expression '{_short(text)}': {problem}")
    worst = [0.0]
    _growth(parsed.parsed, worst)
    if worst[0] > lim.MAX_GROWTH:
        raise ExpressionLimit(
            f"expression '{_short(text)}' can multiply the size of its input by up to "
            f"{worst[0]:,.0f} (limit {lim.MAX_GROWTH:,}); repeated [@, @]-style copies under "
            "pipes or projections are refused")
    return parsed


def _kids(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in node.get("children") or () if isinstance(c, dict)]


def _tree_problem(root: dict[str, Any]) -> str | None:
    """Too many nodes or too deep (counted without recursion)."""
    count, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > lim.MAX_AST_NODES:
            return f"more than {lim.MAX_AST_NODES:,} syntax nodes"
        if depth > lim.MAX_AST_DEPTH:
            return f"nested deeper than {lim.MAX_AST_DEPTH} levels"
        stack.extend((child, depth + 1) for child in _kids(node))
    return None


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
    return next((p for p in map(_function_problem, _kids(node)) if p), None)


def _path(node: dict[str, Any]) -> tuple[Any, ...] | None:
    """``a``, ``a.b[0]``: a path into the input (a slice ends it), else ``None``."""
    kind = node["type"]
    if kind == "field":
        return (node["value"],)
    kids = _kids(node)
    if kind not in ("subexpression", "index_expression") or len(kids) != 2:
        return None
    head, step = _path(kids[0]), kids[1]
    if head is None or step["type"] not in ("field", "index", "slice"):
        return None
    return head if step["type"] == "slice" else (*head, step["value"])


def _width(kids: list[dict[str, Any]], worst: list[float]) -> float:
    """A multiselect: paths into the input that do not overlap add up to the input at most."""
    paths: list[tuple[Any, ...]] = []
    total = 0.0
    for kid in kids:
        target = _kids(kid)[0] if kid["type"] == "key_val_pair" else kid
        path = _path(target)
        if path is None:
            total += _growth(target, worst)
        else:
            paths.append(path)
    keys = sorted(tuple(repr(p) for p in path) for path in paths)
    # sorted, a path that is a prefix of (or equal to) another comes right before one
    overlap = any(b[:len(a)] == a for a, b in zip(keys, keys[1:], strict=False))
    if paths:
        total += float(len(paths)) if overlap else 1.0
    return total


def _function_growth(node: dict[str, Any], kids: list[dict[str, Any]],
                     worst: list[float]) -> float:
    factors = [_growth(k, worst) for k in kids]
    name = node["value"]
    if name == "map" and len(factors) == 2:
        return factors[0] * factors[1]
    if name == "join" and len(factors) == 2:
        return factors[1] * (1 + factors[0])
    if name in _SUMMED_FUNCTIONS:
        return sum(factors) or 1.0
    return max(factors, default=1.0)


def _growth(node: dict[str, Any], worst: list[float]) -> float:
    """An upper bound on ``size(result) / size(input)``; ``worst`` keeps the largest seen."""
    kind, kids = node["type"], _kids(node)
    if kind in _LEAVES:
        for kid in kids:  # a comparison's operands are evaluated too
            _growth(kid, worst)
        factor = 1.0
    elif kind in _CHAINED or kind == "filter_projection":
        factor = 1.0
        for kid in kids[:2]:
            factor *= _growth(kid, worst)
        for kid in kids[2:]:
            _growth(kid, worst)
    elif kind in ("multi_select_list", "multi_select_dict"):
        factor = _width(kids, worst)
    elif kind == "function_expression":
        factor = _function_growth(node, kids, worst)
    elif kind in ("or_expression", "and_expression"):
        factor = max(_growth(k, worst) for k in kids)
    else:  # flatten, expref, key_val_pair and anything new: the sum of the parts
        factor = sum(_growth(k, worst) for k in kids) or 1.0
    factor = min(factor, 1e18)
    worst[0] = max(worst[0], factor)
    return factor
