"""Table definitions: create, list, describe, change the schema, delete (refused while a zap's
``tables.*`` step names the table)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.ids import new_id
from hub.store.tables import zap_versions, zaps
from hub.tables.backend import Store
from hub.tables.errors import TableConflict, TableNotFound
from hub.tables.schema import SchemaChange, Table, TableSpec, apply_change, new_columns, parse_spec
from hub.tables.tables import datatable_index, datatable_rows, datatables
from hub.vault.tables import data_keys

BATCH = 500


async def load(conn: Any, workspace_id: str, name: str, *, lock: bool = False) -> Table:
    """The table ``name`` of the workspace; ``lock`` holds its row until the transaction ends
    (PostgreSQL; SQLite writes are serialised anyway)."""
    query = sa.select(datatables).where(datatables.c.workspace_id == workspace_id,
                                        datatables.c.name == str(name)[:64])
    if lock:
        query = query.with_for_update()
    row = (await conn.execute(query)).first()
    if row is None:
        raise TableNotFound(f"no table '{str(name)[:64]}'")
    return Table.from_row(row)


async def _check_new(conn: Any, store: Store, workspace_id: str, name: str) -> None:
    rows = (await conn.execute(sa.select(datatables.c.name).where(
        datatables.c.workspace_id == workspace_id))).all()
    if any(r.name.lower() == name.lower() for r in rows):
        raise TableConflict(f"a table named '{name}' exists", code="table_name_taken")
    if len(rows) >= store.limits.max_tables:
        raise TableConflict(f"a workspace has at most {store.limits.max_tables} tables",
                            code="too_many_tables")


async def create_table(store: Store, *, workspace_id: str, spec: Any) -> dict[str, Any]:
    """Create a table from its schema document (``name``, ``key``, ``columns``)."""
    parsed: TableSpec = parse_spec(TableSpec, spec)
    columns, key_id = new_columns(parsed, store.limits.max_columns)
    now = time.time()
    table = Table(id=new_id("dt"), workspace_id=workspace_id, name=parsed.name, key_id=key_id,
                  columns=columns, next_column=len(columns) + 1,
                  description=parsed.description, created_at=now, updated_at=now)
    try:
        async with store.db.write() as conn:
            await _check_new(conn, store, workspace_id, parsed.name)
            table.index_key_id, _ = await store.keys.create(conn, workspace_id)
            await conn.execute(datatables.insert().values(
                id=table.id, workspace_id=workspace_id, name=table.name,
                description=table.description, key_column=key_id,
                columns=[c.as_dict() for c in columns], next_column=table.next_column,
                row_count=0, index_key_id=table.index_key_id, created_at=now, updated_at=now))
    except IntegrityError:  # created by someone else at the same moment
        raise TableConflict(f"a table named '{parsed.name}' exists",
                            code="table_name_taken") from None
    return table.describe()


async def list_tables(store: Store, *, workspace_id: str) -> list[dict[str, Any]]:
    async with store.db.read() as conn:
        rows = await conn.execute(sa.select(datatables).where(
            datatables.c.workspace_id == workspace_id).order_by(datatables.c.name))
        return [Table.from_row(r).describe() for r in rows]


async def get_table(store: Store, *, workspace_id: str, name: str) -> dict[str, Any]:
    async with store.db.read() as conn:
        return (await load(conn, workspace_id, name)).describe()


async def _purge(store: Store, conn: Any, table: Table, dropped: list[str]) -> None:
    """Remove dropped columns' values from every row (bounded by the table's row limit)."""
    await conn.execute(datatable_index.delete().where(
        datatable_index.c.table_id == table.id, datatable_index.c.column_id.in_(dropped)))
    after = ""
    while True:
        rows = (await conn.execute(sa.select(datatable_rows.c.id, datatable_rows.c.data).where(
            datatable_rows.c.table_id == table.id, datatable_rows.c.id > after,
        ).order_by(datatable_rows.c.id).limit(BATCH))).all()
        for row in rows:
            data = store.codec.decode(table.workspace_id, row.data)
            if any(cid in data for cid in dropped):
                kept = {k: v for k, v in data.items() if k not in dropped}
                await conn.execute(datatable_rows.update().where(
                    datatable_rows.c.id == row.id).values(
                    data=store.codec.encode(table.workspace_id, kept)))
        if len(rows) < BATCH:
            return
        after = rows[-1].id


async def alter_table(store: Store, *, workspace_id: str, name: str,
                      change: Any) -> dict[str, Any]:
    """Add, rename and drop columns (``{add, rename, drop, description}``), all or nothing.

    Dropping a column erases its values from every row in the same transaction."""
    parsed: SchemaChange = parse_spec(SchemaChange, change)
    await store.codec.prepare(workspace_id)  # before the write: it may read or create keys
    async with store.db.write() as conn:
        table = await load(conn, workspace_id, name, lock=True)
        dropped = apply_change(table, parsed, store.limits.max_columns)
        if dropped:
            await _purge(store, conn, table, dropped)
        table.updated_at = time.time()
        await conn.execute(datatables.update().where(datatables.c.id == table.id).values(
            columns=[c.as_dict() for c in table.columns], next_column=table.next_column,
            description=table.description, updated_at=table.updated_at))
    return table.describe()


def _references(node: Any, name: str, depth: int = 0) -> Iterator[bool]:
    """Whether a zap definition has a ``tables.*`` step whose ``table`` input is ``name``
    (looking into nested step lists too, e.g. branches and loops)."""
    if depth > 64:
        return
    if isinstance(node, dict):
        use, inp = node.get("use"), node.get("input")
        if isinstance(use, str) and use.startswith("tables.") and isinstance(inp, dict):
            yield inp.get("table") == name
        for value in node.values():
            yield from _references(value, name, depth + 1)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value, name, depth + 1)


async def zaps_using(conn: Any, workspace_id: str, name: str) -> list[str]:
    """Names of live zaps whose current version has a ``tables.*`` step on table ``name``."""
    rows = await conn.execute(sa.select(zaps.c.name, zap_versions.c.definition).join(
        zap_versions, sa.and_(zap_versions.c.zap_id == zaps.c.id,
                              zap_versions.c.version == zaps.c.current_version),
    ).where(zaps.c.workspace_id == workspace_id, zaps.c.deleted_at.is_(None)))
    return sorted(r.name for r in rows if any(_references(r.definition, name)))


async def delete_table(store: Store, *, workspace_id: str, name: str) -> None:
    """Delete a table, its rows and its index key; refused (``table_in_use``) while a zap
    uses it."""
    async with store.db.write() as conn:
        table = await load(conn, workspace_id, name, lock=True)
        users = await zaps_using(conn, workspace_id, table.name)
        if users:
            raise TableConflict(f"table '{table.name}' is used by zap(s): {', '.join(users)}",
                                code="table_in_use", extra={"zaps": users})
        await conn.execute(datatable_index.delete().where(
            datatable_index.c.table_id == table.id))
        await conn.execute(datatable_rows.delete().where(datatable_rows.c.table_id == table.id))
        await conn.execute(datatables.delete().where(datatables.c.id == table.id))
        await conn.execute(data_keys.delete().where(data_keys.c.id == table.index_key_id))
