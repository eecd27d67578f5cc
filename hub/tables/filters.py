"""Row filters: ``{column: condition}``, all conditions must hold.

A condition is a value (equality), a list (``in``), ``null`` (``is_null``), or an object of
operators: ``eq``, ``ne``, ``gt``, ``gte``, ``lt``, ``lte``, ``in``, ``contains`` and
``starts_with`` (text, ignoring case), ``is_null`` (true/false). Filters are checked against
the column types before anything is read, and their size is bounded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hub.tables import values as V
from hub.tables.errors import FilterInvalid
from hub.tables.schema import Column, Table

OPS = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "starts_with",
                 "is_null"})
COMPARE = frozenset({"gt", "gte", "lt", "lte"})
MAX_IN = 100


@dataclass(frozen=True)
class Cond:
    column: Column
    op: str
    value: Any


def _ops(name: str, spec: Any) -> list[tuple[str, Any]]:
    if spec is None:
        return [("is_null", True)]
    if isinstance(spec, list):
        return [("in", spec)]
    if not isinstance(spec, dict):
        return [("eq", spec)]
    if not spec:
        raise FilterInvalid(f"{name}: an empty condition")
    unknown = sorted(str(k) for k in spec if k not in OPS)
    if unknown:
        raise FilterInvalid(f"{name}: unknown operator '{unknown[0][:40]}' (use "
                            f"{', '.join(sorted(OPS))})")
    return list(spec.items())


def _value(col: Column, value: Any, limit: int) -> Any:
    if value is None:
        raise FilterInvalid(f"{col.name}: compare with null through is_null")
    try:
        checked = V.check(col.type, value)
    except V.ValueProblem as exc:
        raise FilterInvalid(f"{col.name}: the filter value {exc}") from None
    if V.size(checked) > limit:
        raise FilterInvalid(f"{col.name}: the filter value is larger than {limit} bytes")
    return checked


def _cond(col: Column, op: str, value: Any, limit: int) -> Cond:
    if op == "is_null":
        if not isinstance(value, bool):
            raise FilterInvalid(f"{col.name}: is_null takes true or false")
        return Cond(col, op, value)
    if op == "eq" and value is None:
        return Cond(col, "is_null", True)
    if op == "ne" and value is None:
        return Cond(col, "is_null", False)
    if col.type == "json":
        raise FilterInvalid(f"{col.name}: json columns can only be filtered with is_null")
    if op in COMPARE and col.type not in V.ORDERED_TYPES:
        raise FilterInvalid(f"{col.name}: {op} needs a text, number, integer or datetime column")
    if op in ("contains", "starts_with") and col.type != "text":
        raise FilterInvalid(f"{col.name}: {op} needs a text column")
    if op == "in":
        if not isinstance(value, list) or not 0 < len(value) <= MAX_IN:
            raise FilterInvalid(f"{col.name}: in takes a list of 1 to {MAX_IN} values")
        return Cond(col, op, tuple(_value(col, v, limit) for v in value))
    return Cond(col, op, _value(col, value, limit))


def parse_where(table: Table, where: Any, *, max_conditions: int,
                max_value_bytes: int) -> list[Cond]:
    """Check a filter against the table; raise ``invalid_filter`` naming the problem."""
    if where is None:
        return []
    if not isinstance(where, dict):
        raise FilterInvalid("a filter is an object of column: condition")
    conds: list[Cond] = []
    for name, spec in where.items():
        col = table.by_name.get(name)
        if col is None:
            raise FilterInvalid(f"no column '{str(name)[:64]}' in table '{table.name}'",
                                extra={"column": str(name)[:64]})
        ops = _ops(col.name, spec)
        if len(conds) + len(ops) > max_conditions:
            raise FilterInvalid(f"a filter has at most {max_conditions} conditions")
        conds += [_cond(col, str(op), value, max_value_bytes) for op, value in ops]
    return conds


def _compare(op: str, left: Any, right: Any) -> bool:
    if op == "gt":
        return left > right
    if op == "gte":
        return left >= right
    if op == "lt":
        return left < right
    return left <= right


def _holds(cond: Cond, value: Any) -> bool:
    op = cond.op
    if op == "is_null":
        return (value is None) == cond.value
    if op == "ne":
        return value is None or value != cond.value
    if value is None:
        return False
    if op == "eq":
        return value == cond.value
    if op == "in":
        return value in cond.value
    if op == "contains":
        return cond.value.casefold() in value.casefold()
    if op == "starts_with":
        return value.casefold().startswith(cond.value.casefold())
    kind = cond.column.type
    return _compare(op, V.sort_key(kind, value), V.sort_key(kind, cond.value))


def matches(conds: list[Cond], data: dict[str, Any]) -> bool:
    """Whether a row's values (by column id) satisfy every condition."""
    return all(_holds(c, data.get(c.column.id)) for c in conds)


def index_plan(table: Table, conds: list[Cond]) -> tuple[Column, list[Any]] | None:
    """The indexed column (the key first) and values an equality filter pins, if any."""
    best: tuple[Column, list[Any]] | None = None
    for cond in conds:
        if cond.op not in ("eq", "in") or not cond.column.indexed:
            continue
        pinned = [cond.value] if cond.op == "eq" else list(cond.value)
        if cond.column.id == table.key_id:
            return cond.column, pinned
        if best is None or len(pinned) < len(best[1]):
            best = (cond.column, pinned)
    return best


def order_rows(rows: list[dict[str, Any]], column: Column, descending: bool
               ) -> list[dict[str, Any]]:
    """Sort decoded rows (values by column id) on one column; empty values last."""
    present = [r for r in rows if r.get(column.id) is not None]
    empty = [r for r in rows if r.get(column.id) is None]
    present.sort(key=lambda r: V.sort_key(column.type, r[column.id]), reverse=descending)
    return present + empty
