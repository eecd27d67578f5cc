"""Data tables, service level: schema, typed rows, blind-index lookups, bounded scans, sealing
at rest, workspace isolation, tables in use. Every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from hub.context import Hub
from hub.errors import HubError
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.tables import catalog, query, rows
from hub.tables.access import VaultKeyRing, store_for
from hub.tables.backend import Limits, Store
from hub.tables.tables import datatable_index, datatable_rows

R = query.Read
CONTACTS = {"name": "contacts", "key": "email", "description": "People we know",
            "columns": [{"name": "email", "type": "text"},
                        {"name": "name", "type": "text"},
                        {"name": "plan", "type": "text", "indexed": True},
                        {"name": "score", "type": "integer"},
                        {"name": "ratio", "type": "number"},
                        {"name": "vip", "type": "boolean"},
                        {"name": "seen", "type": "datetime"},
                        {"name": "meta", "type": "json"}]}


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


@pytest.fixture
async def store(hub: Hub, ws: str) -> Store:
    st = store_for(hub)
    await catalog.create_table(st, workspace_id=ws, spec=CONTACTS)
    return st


def small(hub: Hub, **limits: Any) -> Store:
    return Store(hub.db, hub.payloads, VaultKeyRing(hub), Limits(**limits))


async def fill(store: Store, ws: str, n: int, **extra: Any) -> None:
    for i in range(n):
        await rows.insert(store, workspace_id=ws, name="contacts", values={
            "email": f"u{i}@x.io", "plan": ("free", "pro", "team")[i % 3], "score": i,
            "seen": f"2025-01-{i % 28 + 1:02d}T10:00:00+01:00", **extra})


async def find(store: Store, ws: str, **kw: Any) -> list[dict[str, Any]]:
    return [r["values"] for r in await query.find(store, workspace_id=ws, name="contacts",
                                                  read=query.Read(**kw))]


async def code_of(coro: Any) -> str:
    with pytest.raises(HubError) as info:
        await coro
    return info.value.code


async def test_schema_lifecycle(hub: Hub, ws: str, store: Store) -> None:
    listed = await catalog.list_tables(store, workspace_id=ws)
    assert [t["name"] for t in listed] == ["contacts"] and listed[0]["key"] == "email"
    assert listed[0]["columns"][0] == {"name": "email", "type": "text", "indexed": True,
                                       "description": ""}
    again = catalog.create_table(store, workspace_id=ws, spec={**CONTACTS, "name": "CONTACTS"})
    assert await code_of(again) == "table_name_taken"
    changed = await catalog.alter_table(store, workspace_id=ws, name="contacts", change={
        "add": [{"name": "city", "type": "text", "indexed": True}],
        "rename": {"name": "full_name"}, "drop": ["ratio"], "description": "All people"})
    names = [c["name"] for c in changed["columns"]]
    assert names == ["email", "full_name", "plan", "score", "vip", "seen", "meta", "city"]
    assert changed["description"] == "All people"
    await catalog.delete_table(store, workspace_id=ws, name="contacts")
    assert await code_of(catalog.get_table(store, workspace_id=ws, name="contacts")) == (
        "table_not_found")


BAD_SCHEMAS = [
    ({"name": "t", "key": "k", "columns": [{"name": "k", "type": "json"}]}, "text, integer"),
    ({"name": "t", "key": "k", "columns": [{"name": "k", "type": "float"}]}, "columns.0.type"),
    ({"name": "t", "key": "x", "columns": [{"name": "k", "type": "text"}]}, "not among"),
    ({"name": "t", "key": "k", "columns": [{"name": "k", "type": "text"},
                                           {"name": "K", "type": "text"}]}, "twice"),
    ({"name": "t", "key": "k", "columns": [{"name": "k", "type": "text"},
                                           {"name": "j", "type": "json", "indexed": True}]},
     "cannot be indexed"),
    ({"name": "_t", "key": "k", "columns": [{"name": "k", "type": "text"}]}, "name"),
    ({"name": "t", "key": "k", "columns": [{"name": "k", "type": "text"}], "x": 1}, "x"),
    ("not an object", "schema"),
]


async def test_invalid_schemas(hub: Hub, ws: str) -> None:
    for spec, needle in BAD_SCHEMAS:
        with pytest.raises(HubError) as info:
            await catalog.create_table(store_for(hub), workspace_id=ws, spec=spec)
        assert info.value.code == "invalid_schema" and needle in info.value.message, spec
    assert await catalog.list_tables(store_for(hub), workspace_id=ws) == []


async def test_schema_changes_are_validated(ws: str, store: Store) -> None:
    for change in ({"drop": ["email"]}, {"drop": ["nope"]}, {"rename": {"nope": "x"}},
                   {"rename": {"name": "plan"}}, {"rename": {"name": "9x"}},
                   {"add": [{"name": "c", "type": "json", "indexed": True}]}):
        assert await code_of(catalog.alter_table(
            store, workspace_id=ws, name="contacts", change=change)) == "invalid_schema", change
    assert (await catalog.get_table(store, workspace_id=ws, name="contacts"))["columns"][1][
        "name"] == "name"  # nothing changed


async def test_typed_values_are_normalised(ws: str, store: Store) -> None:
    row = await rows.insert(store, workspace_id=ws, name="contacts", values={
        "email": "ada@x.io", "score": 3.0, "ratio": 2, "vip": True,
        "seen": "2025-03-01T10:30:00+02:00", "meta": {"tags": ["a", "b"], "n": None}})
    assert row["values"] == {"email": "ada@x.io", "name": None, "plan": None, "score": 3,
                             "ratio": 2, "vip": True, "seen": "2025-03-01T08:30:00Z",
                             "meta": {"tags": ["a", "b"], "n": None}}
    got = await query.get(store, workspace_id=ws, name="contacts", key="ada@x.io")
    assert got["values"] == row["values"] and got["key"] == "ada@x.io"


async def test_insert_upsert_update_delete(ws: str, store: Store) -> None:
    args = {"workspace_id": ws, "name": "contacts"}
    await rows.insert(store, **args, values={"email": "a@x.io", "name": "Ada", "score": 1})
    assert await code_of(rows.insert(store, **args, values={"email": "a@x.io"})) == (
        "duplicate_key")
    row, created = await rows.upsert(store, **args, values={"email": "a@x.io", "score": 2})
    assert not created and row["values"]["name"] == "Ada" and row["values"]["score"] == 2
    row, created = await rows.upsert(store, **args, values={"email": "b@x.io", "name": "Bo"})
    assert created and row["values"]["score"] is None
    row = await rows.update(store, **args, values={"email": "a@x.io", "name": None})
    assert row["values"]["name"] is None and row["values"]["score"] == 2
    assert await code_of(rows.update(store, **args, values={"email": "z@x.io"})) == (
        "row_not_found")
    assert await rows.delete_where(store, **args, where={"email": "a@x.io"}) == 1
    assert await rows.delete_where(store, **args, where={"email": "a@x.io"}) == 0
    await rows.delete_key(store, **args, key="b@x.io")
    assert await code_of(rows.delete_key(store, **args, key="b@x.io")) == "row_not_found"
    assert (await catalog.get_table(store, **args))["row_count"] == 0


async def test_find_filters_and_orders(ws: str, store: Store) -> None:
    await fill(store, ws, 9)
    assert [r["email"] for r in await find(store, ws, where={"email": "u4@x.io"})] == ["u4@x.io"]
    assert [r["score"] for r in await find(store, ws, where={"plan": "pro"})] == [1, 4, 7]
    assert [r["score"] for r in await find(store, ws, where={"plan": ["pro", "team"],
                                                             "score": {"gte": 4}})] == [4, 5, 7, 8]
    assert [r["score"] for r in await find(store, ws, where={"email": {"contains": "U1"}})] == [1]
    assert [r["score"] for r in await find(store, ws, where={
        "seen": {"lt": "2025-01-03T09:00:00Z"}})] == [0, 1]
    assert [r["score"] for r in await find(store, ws, where={"name": None}, limit=2)] == [0, 1]
    assert [r["score"] for r in await find(store, ws, where={"plan": {"ne": "free"}},
                                           order_by="score", descending=True, limit=3)] == [8, 7, 5]
    keyed = await find(store, ws, order_by="email", descending=True, limit=2)
    assert [r["email"] for r in keyed] == ["u8@x.io", "u7@x.io"]
    await rows.upsert(store, workspace_id=ws, name="contacts", values={"email": "u2@x.io"})
    latest = await find(store, ws, order_by="_updated_at", descending=True, limit=1)
    assert latest[0]["email"] == "u2@x.io"


async def test_scans_are_bounded_but_index_lookups_are_not(hub: Hub, ws: str,
                                                           store: Store) -> None:
    await fill(store, ws, 12)
    tight = small(hub, scan_rows=5)
    args = {"workspace_id": ws, "name": "contacts"}
    assert await code_of(query.find(tight, **args, read=R(where={"score": {"gte": 11}}))) == (
        "filter_too_broad")
    assert await code_of(query.find(tight, **args, read=R(order_by="score"))) == "filter_too_broad"
    # the blind index narrows the candidates, so these stay within the budget
    assert len(await query.find(tight, **args, read=R(where={"plan": "team"}))) == 4
    assert len(await query.find(tight, **args, read=R(
        where={"email": ["u1@x.io", "u11@x.io"]}))) == 2
    # without a filter, SQL order and the limit bound the work
    assert len(await query.find(tight, **args, read=R(limit=3))) == 3
    assert await code_of(rows.delete_where(tight, **args, where={"score": {"gte": 11}})) == (
        "filter_too_broad")
    assert (await catalog.get_table(store, **args))["row_count"] == 12


async def test_pages_follow_the_cursor_within_the_budget(hub: Hub, ws: str,
                                                         store: Store) -> None:
    await fill(store, ws, 11)
    tight = small(hub, scan_rows=4)
    seen, cursor, pages = [], None, 0
    while True:
        page = await query.page(tight, workspace_id=ws, name="contacts", read=R(
            limit=2, where={"score": {"gte": 3}}, cursor=cursor))
        seen += [r["values"]["score"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(range(3, 11)) and pages >= 4
    back = await query.page(store, workspace_id=ws, name="contacts",
                            read=R(limit=5, descending=True))
    assert [r["values"]["score"] for r in back["items"]] == [10, 9, 8, 7, 6]


async def test_rows_are_sealed_at_rest(hub: Hub, ws: str, store: Store) -> None:
    await rows.insert(store, workspace_id=ws, name="contacts",
                      values={"email": "secret@x.io", "plan": "enterprise", "name": "Zed"})
    async with hub.db.read() as conn:
        raw = (await conn.execute(sa.select(datatable_rows))).one()
        tokens = (await conn.execute(sa.select(datatable_index.c.token))).scalars().all()
    assert raw.workspace_id == ws and raw.data[0] == 1  # a sealed envelope, not JSON
    for plain in (b"secret@x.io", b"enterprise", b"Zed"):
        assert plain not in bytes(raw.data)
    assert len(raw.key_token) == 64 and "secret" not in raw.key_token
    assert len(tokens) == 1 and "enterprise" not in tokens[0]
    # another table's index key differs: the same value gets another token
    await catalog.create_table(store, workspace_id=ws, spec={**CONTACTS, "name": "leads"})
    await rows.insert(store, workspace_id=ws, name="leads", values={"email": "secret@x.io"})
    async with hub.db.read() as conn:
        key_tokens = (await conn.execute(sa.select(datatable_rows.c.key_token))).scalars().all()
    assert len(set(key_tokens)) == 2


async def test_rename_keeps_and_drop_erases_values(hub: Hub, ws: str, store: Store) -> None:
    await rows.insert(store, workspace_id=ws, name="contacts",
                      values={"email": "a@x.io", "name": "Ada", "plan": "pro"})
    await catalog.alter_table(store, workspace_id=ws, name="contacts",
                              change={"rename": {"name": "full_name"}, "drop": ["plan"]})
    got = await query.get(store, workspace_id=ws, name="contacts", key="a@x.io")
    assert got["values"]["full_name"] == "Ada" and "plan" not in got["values"]
    async with hub.db.read() as conn:
        raw = (await conn.execute(sa.select(datatable_rows.c.data))).scalar_one()
        left = (await conn.execute(sa.select(sa.func.count()).select_from(
            datatable_index))).scalar_one()
    assert "c3" not in hub.payloads.decode(ws, raw) and left == 0  # value and token gone
    await catalog.alter_table(store, workspace_id=ws, name="contacts",
                              change={"add": [{"name": "plan", "type": "integer"}]})
    got = await query.get(store, workspace_id=ws, name="contacts", key="a@x.io")
    assert got["values"]["plan"] is None  # a new column never sees old values


async def test_limits_on_rows_and_tables(hub: Hub, ws: str, store: Store) -> None:
    tiny = small(hub, max_rows=2, max_tables=1)
    await fill(tiny, ws, 2)
    assert await code_of(fill(tiny, ws, 3)) == "duplicate_key"
    assert await code_of(rows.insert(tiny, workspace_id=ws, name="contacts",
                                     values={"email": "new@x.io"})) == "table_full"
    await rows.upsert(tiny, workspace_id=ws, name="contacts", values={"email": "u1@x.io"})
    assert await code_of(catalog.create_table(tiny, workspace_id=ws, spec={
        **CONTACTS, "name": "other"})) == "too_many_tables"


async def test_other_workspaces_see_nothing(hub: Hub, ws: str, store: Store) -> None:
    await fill(store, ws, 1)
    other = (await identity.create_workspace(hub, name="O", owner_email="o@o.io"))[
        "workspace_id"]
    assert await catalog.list_tables(store, workspace_id=other) == []
    for coro in (query.find(store, workspace_id=other, name="contacts"),
                 rows.insert(store, workspace_id=other, name="contacts",
                             values={"email": "u0@x.io"}),
                 catalog.delete_table(store, workspace_id=other, name="contacts")):
        assert await code_of(coro) == "table_not_found"
    await catalog.create_table(store, workspace_id=other, spec=CONTACTS)  # same name is fine
    assert await find(store, other) == []


async def test_a_table_used_by_a_zap_cannot_be_deleted(hub: Hub, ws: str, store: Store) -> None:
    await zaps_svc.create_zap(hub, workspace_id=ws, document={
        "name": "lookup", "trigger": {"kind": "manual"},
        "steps": [{"id": "f", "use": "tables.find", "input": {"table": "contacts"}}]})
    with pytest.raises(HubError) as info:
        await catalog.delete_table(store, workspace_id=ws, name="contacts")
    assert info.value.code == "table_in_use" and info.value.extra == {"zaps": ["lookup"]}
    zap = (await zaps_svc.list_zaps(hub, workspace_id=ws))[0]
    await zaps_svc.delete_zap(hub, workspace_id=ws, zap_id=zap["id"])
    await catalog.delete_table(store, workspace_id=ws, name="contacts")


async def test_concurrent_writes_keep_keys_unique_and_counts_right(ws: str,
                                                                   store: Store) -> None:
    args = {"workspace_id": ws, "name": "contacts"}
    same = [rows.insert(store, **args, values={"email": "race@x.io", "score": n})
            for n in range(6)]
    upserts = [rows.upsert(store, **args, values={"email": f"u{n % 3}@x.io", "score": n})
               for n in range(9)]
    results = await asyncio.gather(*same, *upserts, return_exceptions=True)
    errors = [r.code for r in results if isinstance(r, HubError)]
    assert errors == ["duplicate_key"] * 5, results
    assert not [r for r in results if isinstance(r, BaseException) and
                not isinstance(r, HubError)]
    found = await find(store, ws)
    assert sorted(r["email"] for r in found) == ["race@x.io", "u0@x.io", "u1@x.io", "u2@x.io"]
    assert (await catalog.get_table(store, **args))["row_count"] == 4
