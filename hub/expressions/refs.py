"""Static analysis: which root names (``trigger``, ``steps``, ``vars``) and which steps an
expression reads, so a zap referring to an unknown or later step is refused at save."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jmespath.parser import ParsedResult

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
