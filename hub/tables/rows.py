"""Writing rows: insert, upsert, update (partial, by key), delete (by key or bounded filter).

Every operation is one transaction that first locks the table's definition row, so a row, its
blind-index entries and the table's row count change together or not at all, and a schema
change cannot slip in between.
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.ids import new_id
from hub.tables import values as V
from hub.tables.backend import Indexer, Store, indexer
from hub.tables.catalog import load
from hub.tables.errors import (
    DuplicateKey,
    FilterInvalid,
    RowInvalid,
    RowNotFound,
    TableConflict,
    ValueTooLarge,
)
from hub.tables.query import by_key, check_limit, coerce_key, open_scan, present, too_broad
from hub.tables.schema import Table
from hub.tables.tables import datatable_index, datatable_rows, datatables

R = datatable_rows.c


def row_values(store: Store, table: Table, values: Any, *, key: bool = True) -> dict[str, Any]:
    """Check ``{column name: value}`` against the schema; values by column id. ``None``
    empties a column. With ``key``, the key column must have a value."""
    if not isinstance(values, dict):
        raise RowInvalid("a row is an object of column: value")
    out: dict[str, Any] = {}
    for name, value in values.items():
        col = table.by_name.get(name)
        if col is None:
            raise RowInvalid(f"no column '{str(name)[:64]}' in table '{table.name}'",
                             extra={"column": str(name)[:64]})
        try:
            checked = V.check(col.type, value)
        except V.ValueProblem as exc:
            raise RowInvalid(f"{col.name}: {exc}", extra={"column": col.name}) from None
        if checked is not None and V.size(checked) > store.limits.max_value_bytes:
            raise ValueTooLarge(f"{col.name}: the value is larger than "
                                f"{store.limits.max_value_bytes} bytes",
                                extra={"column": col.name})
        out[col.id] = checked
    if key and out.get(table.key_id) in (None, ""):
        raise RowInvalid(f"the key column '{table.key.name}' needs a value",
                         extra={"column": table.key.name})
    return out


def merged(store: Store, table: Table, old: dict[str, Any], new: dict[str, Any]
           ) -> dict[str, Any]:
    """``old`` updated with ``new``, without empty values or dropped columns; size-checked."""
    data = {k: v for k, v in {**old, **new}.items() if v is not None and k in table.by_id}
    if V.encoded_size(data) > store.limits.max_row_bytes:
        raise ValueTooLarge(f"the row is larger than {store.limits.max_row_bytes} bytes")
    return data


def index_entries(table: Table, ix: Indexer, row_id: str, data: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    """Blind-index rows for the indexed columns (the key has its own column)."""
    return [{"row_id": row_id, "column_id": c.id, "table_id": table.id,
             "workspace_id": table.workspace_id, "token": ix.token(c, data[c.id])}
            for c in table.columns
            if c.indexed and c.id != table.key_id and data.get(c.id) is not None]


async def add_rows(conn: Any, store: Store, table: Table, ix: Indexer,
                   items: list[tuple[dict[str, Any], str | None]]) -> list[dict[str, Any]]:
    """Insert new rows (values by column id, insert key); check room; return them."""
    if table.row_count + len(items) > store.limits.max_rows:
        raise TableConflict(f"table '{table.name}' is full ({store.limits.max_rows} rows)",
                            code="table_full")
    now, rows, entries = time.time(), [], []
    ids = sorted(new_id("row") for _ in items)  # ids order rows: keep the given order
    for rid, (data, insert_key) in zip(ids, items, strict=True):
        rows.append({"id": rid, "workspace_id": table.workspace_id, "table_id": table.id,
                     "key_token": ix.token(table.key, data[table.key_id]),
                     "insert_key": insert_key, "created_at": now, "updated_at": now,
                     "data": store.codec.encode(table.workspace_id, data)})
        entries += index_entries(table, ix, rid, data)
    if rows:
        await conn.execute(datatable_rows.insert(), rows)
    if entries:
        await conn.execute(datatable_index.insert(), entries)
    table.row_count += len(rows)
    await conn.execute(datatables.update().where(datatables.c.id == table.id).values(
        row_count=datatables.c.row_count + len(rows)))
    return rows


async def replace_row(conn: Any, store: Store, table: Table, ix: Indexer, row_id: str,
                      data: dict[str, Any]) -> float:
    """Store new values for an existing row and rebuild its index entries."""
    now = time.time()
    await conn.execute(datatable_rows.update().where(R.id == row_id).values(
        data=store.codec.encode(table.workspace_id, data), updated_at=now))
    await conn.execute(datatable_index.delete().where(datatable_index.c.row_id == row_id))
    entries = index_entries(table, ix, row_id, data)
    if entries:
        await conn.execute(datatable_index.insert(), entries)
    return now


class _Row:
    def __init__(self, created_at: float, updated_at: float) -> None:
        self.created_at, self.updated_at = created_at, updated_at


def _duplicate(table: Table) -> DuplicateKey:
    return DuplicateKey(f"table '{table.name}' already has a row with this {table.key.name}",
                        extra={"column": table.key.name})


async def insert(store: Store, *, workspace_id: str, name: str, values: Any,
                 idempotency_key: str | None = None) -> dict[str, Any]:
    """Add a row; ``duplicate_key`` when its key exists. With ``idempotency_key`` a repeat of
    an insert that already committed returns that row instead of failing or duplicating."""
    await store.codec.prepare(workspace_id)
    try:
        async with store.db.write() as conn:
            table = await load(conn, workspace_id, name, lock=True)
            if idempotency_key is not None:
                prior = (await conn.execute(sa.select(R.data, R.created_at, R.updated_at).where(
                    R.table_id == table.id, R.insert_key == idempotency_key[:200]))).first()
                if prior is not None:
                    return present(table, prior, store.codec.decode(workspace_id, prior.data))
            data = merged(store, table, {}, row_values(store, table, values))
            if await by_key(store, conn, table, data[table.key_id]) is not None:
                raise _duplicate(table)
            ix = await indexer(store, conn, table)
            key = idempotency_key[:200] if idempotency_key is not None else None
            (row,) = await add_rows(conn, store, table, ix, [(data, key)])
    except IntegrityError:  # the same key written at the same moment
        raise _duplicate(table) from None
    return present(table, _Row(row["created_at"], row["updated_at"]), data)


def _with_key(table: Table, values: Any, key: Any) -> Any:
    """``values`` with the key given apart (e.g. in a URL); both must agree."""
    if key is None or not isinstance(values, dict):
        return values
    wanted = coerce_key(table, key)
    given = values.get(table.key.name)
    if given is not None and coerce_key(table, given) != wanted:
        raise RowInvalid(f"the {table.key.name} in the values differs from the row's key",
                         extra={"column": table.key.name})
    return {**values, table.key.name: wanted}


async def upsert(store: Store, *, workspace_id: str, name: str, values: Any,
                 must_exist: bool = False, key: Any = None) -> tuple[dict[str, Any], bool]:
    """Insert the row, or update the row with the same key (only the columns given; ``None``
    empties one). Returns the row and whether it was created. ``must_exist``: an update,
    ``row_not_found`` when no row has the key. ``key``: the key given apart from ``values``."""
    await store.codec.prepare(workspace_id)
    try:
        async with store.db.write() as conn:
            table = await load(conn, workspace_id, name, lock=True)
            new = row_values(store, table, _with_key(table, values, key))
            ix = await indexer(store, conn, table)
            found = await by_key(store, conn, table, new[table.key_id])
            if found is None and must_exist:
                raise RowNotFound(f"no row with that {table.key.name} in table '{table.name}'")
            if found is None:
                data = merged(store, table, {}, new)
                (row,) = await add_rows(conn, store, table, ix, [(data, None)])
                return present(table, _Row(row["created_at"], row["updated_at"]), data), True
            old_row, old = found
            data = merged(store, table, old, new)
            now = await replace_row(conn, store, table, ix, old_row.id, data)
    except IntegrityError:
        raise _duplicate(table) from None
    return present(table, _Row(old_row.created_at, now), data), False


async def update(store: Store, *, workspace_id: str, name: str, values: Any,
                 key: Any = None) -> dict[str, Any]:
    """Change some columns of the row whose key is in ``values`` or ``key``
    (``row_not_found``)."""
    row, _ = await upsert(store, workspace_id=workspace_id, name=name, values=values,
                          must_exist=True, key=key)
    return row


async def _delete_ids(conn: Any, table: Table, ids: list[str]) -> int:
    if not ids:
        return 0
    await conn.execute(datatable_index.delete().where(datatable_index.c.row_id.in_(ids)))
    await conn.execute(datatable_rows.delete().where(R.id.in_(ids)))
    await conn.execute(datatables.update().where(datatables.c.id == table.id).values(
        row_count=datatables.c.row_count - len(ids)))
    return len(ids)


async def delete_where(store: Store, *, workspace_id: str, name: str, where: Any,
                       limit: int = 100) -> int:
    """Delete up to ``limit`` rows matching a non-empty filter; return how many. Fails with
    ``filter_too_broad`` (deleting nothing) when the scan budget ends before ``limit`` rows
    are found and more rows remain."""
    check_limit(limit, store)
    if not where:
        raise FilterInvalid("deleting rows needs a filter (e.g. the key column's value)")
    await store.codec.prepare(workspace_id)
    async with store.db.write() as conn:
        table = await load(conn, workspace_id, name, lock=True)
        scanner = await open_scan(store, conn, table, where)
        ids: list[str] = []
        async for row, _ in scanner.rows():
            ids.append(row.id)
            if len(ids) == limit:
                break
        if not scanner.done and len(ids) < limit:
            raise too_broad(scanner)
        return await _delete_ids(conn, table, ids)


async def delete_key(store: Store, *, workspace_id: str, name: str, key: Any) -> None:
    """Delete the row with this key (``row_not_found`` otherwise)."""
    await store.codec.prepare(workspace_id)
    async with store.db.write() as conn:
        table = await load(conn, workspace_id, name, lock=True)
        found = await by_key(store, conn, table, coerce_key(table, key))
        if found is None:
            raise RowNotFound(f"no row with that {table.key.name} in table '{table.name}'")
        await _delete_ids(conn, table, [found[0].id])
