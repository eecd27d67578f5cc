"""Reading rows: ``find`` (a bounded query), ``page`` (cursor pagination), ``get`` (by key).

Row values are sealed, so SQL can neither filter nor order on them. A query therefore:

1. narrows the candidates in SQL with the blind index when the filter pins the key column or
   an indexed column (``eq`` or ``in``): HMAC tokens of the wanted values are looked up;
2. walks the candidates in SQL order (creation or last update), opening each row and checking
   the whole filter in the hub;
3. stops at a hard budget of rows and bytes examined (``scan_rows``, ``scan_bytes``): ``find``
   then fails with ``filter_too_broad`` rather than answer partially, while ``page`` returns
   what it found with a cursor to go on from.

Ordering on a column (the key included) sorts the matching candidates in the hub, so every
candidate must fit the budget.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hub.ids import looks_like_id
from hub.tables import values as V
from hub.tables.backend import Store, indexer
from hub.tables.catalog import load
from hub.tables.errors import FilterInvalid, FilterTooBroad, RowInvalid, RowNotFound, TableError
from hub.tables.filters import Cond, index_plan, matches, order_rows, parse_where
from hub.tables.schema import META_ORDERS, Table
from hub.tables.tables import datatable_index, datatable_rows

R = datatable_rows.c
BATCH = 256
_ORDER = {"_created_at": (R.id,), "_updated_at": (R.updated_at, R.id)}


def present(table: Table, row: Any, data: dict[str, Any]) -> dict[str, Any]:
    """A row as returned to callers: its key, values by column name, timestamps."""
    vals = {c.name: data.get(c.id) for c in table.columns}
    return {"key": data.get(table.key_id), "values": vals, "created_at": row.created_at,
            "updated_at": row.updated_at}


def check_limit(limit: int, store: Store) -> int:
    if not isinstance(limit, int) or not 0 < limit <= store.limits.page_max:
        raise TableError(f"limit must be 1 to {store.limits.page_max}", code="invalid_limit")
    return limit


class Scanner:
    """Walks a table's candidate rows in SQL order within the scan budget."""

    def __init__(self, store: Store, conn: Any, table: Table, conds: list[Cond], *,
                 order: str = "_created_at", descending: bool = False) -> None:
        self.store, self.conn, self.table, self.conds = store, conn, table, conds
        self.cols, self.descending = _ORDER[order], descending
        self.examined = self.bytes = 0
        self.done = False
        self.last: tuple[Any, ...] | None = None
        self.narrow: list[Any] = []

    async def plan(self) -> None:
        plan = index_plan(self.table, self.conds)
        if plan is None:
            return
        column, pinned = plan
        ix = await indexer(self.store, self.conn, self.table)
        tokens = sorted({ix.token(column, v) for v in pinned})
        if column.id == self.table.key_id:
            self.narrow = [R.key_token.in_(tokens)]
            return
        idx = datatable_index.c
        self.narrow = [R.id.in_(sa.select(idx.row_id).where(
            idx.table_id == self.table.id, idx.column_id == column.id, idx.token.in_(tokens)))]

    def _query(self, after: tuple[Any, ...] | None, batch: int) -> sa.Select[Any]:
        query = sa.select(R.id, R.data, R.created_at, R.updated_at).where(
            R.table_id == self.table.id, *self.narrow)
        if after is not None:
            keys = sa.tuple_(*self.cols)
            query = query.where(keys < sa.tuple_(*after) if self.descending
                                else keys > sa.tuple_(*after))
        order = [c.desc() if self.descending else c.asc() for c in self.cols]
        return query.order_by(*order).limit(batch)

    def _spent(self) -> bool:
        limits = self.store.limits
        return self.examined >= limits.scan_rows or self.bytes >= limits.scan_bytes

    async def rows(self, after: tuple[Any, ...] | None = None,
                   batch: int = BATCH) -> AsyncIterator[tuple[Any, dict[str, Any]]]:
        """Matching ``(row, values by column id)``; ``done`` tells whether the walk ended."""
        ws = self.table.workspace_id
        while True:
            found = (await self.conn.execute(self._query(after, batch))).all()
            for row in found:
                if self._spent():
                    return
                self.examined += 1
                self.bytes += len(row.data)
                self.last = tuple(getattr(row, c.name) for c in self.cols)
                data = self.store.codec.decode(ws, row.data)
                if matches(self.conds, data):
                    yield row, data
            if len(found) < batch:
                self.done = True
                return
            after = self.last


async def open_scan(store: Store, conn: Any, table: Table, where: Any,
                    **order: Any) -> Scanner:
    limits = store.limits
    conds = parse_where(table, where, max_conditions=limits.max_conditions,
                        max_value_bytes=limits.max_value_bytes)
    scanner = Scanner(store, conn, table, conds, **order)
    await scanner.plan()
    return scanner


def too_broad(scanner: Scanner) -> FilterTooBroad:
    limits = scanner.store.limits
    return FilterTooBroad(
        f"the filter needs more than {limits.scan_rows} rows (or {limits.scan_bytes} bytes) "
        "examined: filter on the key or an indexed column (eq/in), or narrow it",
        extra={"examined": scanner.examined})


@dataclass(frozen=True)
class Read:
    """What to read: a filter, an order (a column, ``_created_at`` or ``_updated_at``), a
    limit, and for pages the cursor to go on from."""

    where: Any = None
    order_by: str = "_created_at"
    descending: bool = False
    limit: int = 100
    cursor: str | None = None


async def find(store: Store, *, workspace_id: str, name: str,
               read: Read = Read()) -> list[dict[str, Any]]:
    """Rows matching ``read.where``, ordered, at most ``read.limit``; ``filter_too_broad``
    past the scan budget."""
    where, order_by, descending, limit = read.where, read.order_by, read.descending, read.limit
    check_limit(limit, store)
    await store.codec.prepare(workspace_id)
    async with store.db.read() as conn:
        table = await load(conn, workspace_id, name)
        by_sql = order_by in META_ORDERS
        column = None if by_sql else table.by_name.get(order_by)
        if not by_sql and column is None:
            raise FilterInvalid(f"cannot order by '{str(order_by)[:64]}': use a column, "
                                "_created_at or _updated_at")
        scanner = await open_scan(store, conn, table, where, descending=descending,
                                  order=order_by if by_sql else "_created_at")
        found: list[tuple[Any, dict[str, Any]]] = []
        async for item in scanner.rows(batch=BATCH if where or column else limit + 1):
            found.append(item)
            if by_sql and len(found) == limit:
                break
        if not scanner.done and (column is not None or len(found) < limit):
            raise too_broad(scanner)
    if column is not None:
        ordered = order_rows([d for _, d in found], column, descending)[:limit]
        rows = {id(d): r for r, d in found}
        found = [(rows[id(d)], d) for d in ordered]
    return [present(table, r, d) for r, d in found]


def _cursor(cursor: str | None) -> tuple[str] | None:
    if cursor is None:
        return None
    if not looks_like_id(cursor, "row"):
        raise TableError("the cursor is not one this API returned", code="invalid_cursor")
    return (cursor,)


async def page(store: Store, *, workspace_id: str, name: str,
               read: Read = Read(limit=50)) -> dict[str, Any]:
    """One page of rows in creation order (``read.order_by`` is ignored): ``{items,
    next_cursor}``. Past the scan budget the page may hold fewer items than ``limit`` (even
    none) and still have a ``next_cursor``."""
    limit = check_limit(read.limit, store)
    await store.codec.prepare(workspace_id)
    async with store.db.read() as conn:
        table = await load(conn, workspace_id, name)
        scanner = await open_scan(store, conn, table, read.where, descending=read.descending)
        found: list[tuple[Any, dict[str, Any]]] = []
        batch = BATCH if read.where else limit + 1
        async for item in scanner.rows(after=_cursor(read.cursor), batch=batch):
            found.append(item)
            if len(found) > limit:
                break
    next_cursor = None
    if len(found) > limit:
        found = found[:limit]
        next_cursor = found[-1][0].id
    elif not scanner.done and scanner.last is not None:
        next_cursor = scanner.last[0]
    return {"items": [present(table, r, d) for r, d in found], "next_cursor": next_cursor}


def coerce_key(table: Table, key: Any) -> Any:
    """A key value in the key column's type; text (e.g. from a URL) is converted."""
    try:
        value = V.parse(table.key.type, key) if isinstance(key, str) else V.check(
            table.key.type, key)
    except V.ValueProblem as exc:
        raise RowInvalid(f"{table.key.name}: the key {exc}") from None
    if value is None:
        raise RowInvalid(f"{table.key.name}: the key is empty")
    return value


async def by_key(store: Store, conn: Any, table: Table, key: Any) -> tuple[Any, Any] | None:
    """The row (and its decoded values) whose key is ``key``, or ``None``."""
    ix = await indexer(store, conn, table)
    row = (await conn.execute(sa.select(R.id, R.data, R.created_at, R.updated_at).where(
        R.table_id == table.id, R.key_token == ix.token(table.key, key)))).first()
    if row is None:
        return None
    return row, store.codec.decode(table.workspace_id, row.data)


async def get(store: Store, *, workspace_id: str, name: str, key: Any) -> dict[str, Any]:
    """The row with this key (``row_not_found`` otherwise); ``key`` may be text from a URL."""
    await store.codec.prepare(workspace_id)
    async with store.db.read() as conn:
        table = await load(conn, workspace_id, name)
        found = await by_key(store, conn, table, coerce_key(table, key))
    if found is None:
        raise RowNotFound(f"no row with that {table.key.name} in table '{table.name}'")
    return present(table, *found)
