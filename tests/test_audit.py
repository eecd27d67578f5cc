"""The audit trail: chaining, verification against tampering, listing, export, API, CLI."""

from __future__ import annotations

import asyncio
import json

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub import audit
from hub.audit import Actor, Entry
from hub.context import Hub
from hub.services import identity
from hub.settings import Settings


async def _workspace(hub: Hub) -> str:
    await identity.bootstrap(hub)
    async with hub.db.read() as conn:
        return (await conn.execute(sa.text("SELECT id FROM workspaces"))).scalar_one()


async def _record(hub: Hub, ws: str, n: int, action: str = "zap.updated") -> None:
    async with hub.db.write() as conn:
        await audit.append(conn, [
            Entry(ws, action, Actor("user", "usr_1"), "zap", f"zap_{i}", data={"i": i})
            for i in range(n)])


async def _verdict(hub: Hub, ws: str) -> audit.Verdict:
    return (await audit.verify_all(hub.db, [ws]))[0]


async def test_chain_verifies_and_links(hub: Hub) -> None:
    ws = await _workspace(hub)
    await _record(hub, ws, 3)
    await _record(hub, ws, 2, "connection.created")
    verdict = await _verdict(hub, ws)
    assert verdict.ok and verdict.checked == 5 and verdict.head_seq == 5
    async with hub.db.read() as conn:
        page = await audit.list_records(conn, ws, limit=10, cursor=None, filters={})
    items = page["items"]
    assert [r["seq"] for r in items] == [5, 4, 3, 2, 1]
    assert all(a["prev_hash"] == b["hash"] for a, b in zip(items, items[1:], strict=False))
    assert items[-1]["prev_hash"] == "0" * 64
    assert items[0]["actor"] == {"type": "user", "id": "usr_1"}


async def test_rollback_records_nothing(hub: Hub) -> None:
    ws = await _workspace(hub)
    with pytest.raises(RuntimeError):
        async with hub.db.write() as conn:
            await audit.append(conn, [Entry(ws, "zap.created")])
            raise RuntimeError("the change failed")
    assert (await _verdict(hub, ws)).checked == 0
    await _record(hub, ws, 1)
    assert (await _verdict(hub, ws)).ok


async def _tamper(hub: Hub, sql: str) -> None:
    async with hub.db.write() as conn:
        await conn.exec_driver_sql(sql)


@pytest.mark.parametrize(("sql", "seq", "words"), [
    ("UPDATE audit_log SET body = replace(body, '\"i\":2', '\"i\":9') WHERE seq = 3", 3,
     "content does not match"),
    ("UPDATE audit_log SET action = 'zap.created' WHERE seq = 2", 2, "columns differ"),
    ("DELETE FROM audit_log WHERE seq = 3", 3, "missing"),
    ("DELETE FROM audit_log WHERE seq = 5", 5, "head says 5"),
    ("UPDATE audit_log SET seq = seq + 100 WHERE seq IN (2, 3)", 2, "missing"),
])
async def test_verify_names_first_broken_record(hub: Hub, sql: str, seq: int,
                                                words: str) -> None:
    ws = await _workspace(hub)
    await _record(hub, ws, 5)
    await _tamper(hub, sql)
    verdict = await _verdict(hub, ws)
    assert not verdict.ok
    assert verdict.broken_seq == seq
    assert words in (verdict.reason or "")


async def test_reordering_two_records_is_found(hub: Hub) -> None:
    ws = await _workspace(hub)
    await _record(hub, ws, 4)
    # swap the content and links of records 2 and 3, keeping their seq numbers
    await _tamper(hub, "UPDATE audit_log SET seq = 0 - seq WHERE seq IN (2, 3)")
    await _tamper(hub, "UPDATE audit_log SET seq = 3 WHERE seq = -2")
    await _tamper(hub, "UPDATE audit_log SET seq = 2 WHERE seq = -3")
    verdict = await _verdict(hub, ws)
    assert not verdict.ok and verdict.broken_seq == 2


async def test_concurrent_appends_keep_one_chain(hub: Hub) -> None:
    ws = await _workspace(hub)
    await asyncio.gather(*[_record(hub, ws, 3) for _ in range(8)])
    verdict = await _verdict(hub, ws)
    assert verdict.ok and verdict.checked == 24


async def test_filters_cursor_and_export(hub: Hub) -> None:
    ws = await _workspace(hub)
    await _record(hub, ws, 3)
    await _record(hub, ws, 2, "connection.deleted")
    async with hub.db.read() as conn:
        first = await audit.list_records(conn, ws, limit=2, cursor=None,
                                         filters={"action": "zap.*"})
        rest = await audit.list_records(conn, ws, limit=2, cursor=first["next_cursor"],
                                        filters={"action": "zap.*"})
    assert [r["seq"] for r in first["items"] + rest["items"]] == [3, 2, 1]
    assert rest["next_cursor"] is None
    exported = [r async for r in audit.export(hub.db, ws, {"action": "connection.deleted"})]
    assert [r["seq"] for r in exported] == [4, 5]
    # an exported record is enough to recompute its hash
    first_export = exported[0]
    body = {k: v for k, v in first_export.items()
            if k not in ("workspace_id", "prev_hash", "hash")}
    assert audit.chain_hash(first_export["prev_hash"], audit.canonical(body)) \
        == first_export["hash"]


async def test_large_data_is_truncated_not_refused(hub: Hub) -> None:
    ws = await _workspace(hub)
    async with hub.db.write() as conn:
        await audit.append(conn, [Entry(ws, "zap.updated", data={"x": "y" * 100_000})])
    async with hub.db.read() as conn:
        page = await audit.list_records(conn, ws, limit=1, cursor=None, filters={})
    assert page["items"][0]["data"]["truncated"] is True
    assert (await _verdict(hub, ws)).ok


async def test_api_admin_only_and_verify(api) -> None:  # type: ignore[no-untyped-def]
    hub: Hub = api.app.state.hub
    me = (await api.get("/api/v1/me")).json()
    base = 2  # the owner's token: created, first used
    await _record(hub, me["workspace_id"], 3)
    page = (await api.get("/api/v1/audit?action=zap.updated&limit=2")).json()
    assert [r["seq"] - base for r in page["items"]] == [3, 2]
    assert (await api.post("/api/v1/audit/verify")).json()["ok"] is True
    lines = (await api.get("/api/v1/audit/export")).text.splitlines()
    assert [json.loads(line)["seq"] - base for line in lines] == [-1, 0, 1, 2, 3]
    viewer = (await api.post("/api/v1/users", json={"email": "v@x.test", "role": "viewer"}))
    token = viewer.json()["token"]
    for call in (api.get("/api/v1/audit", token=token),
                 api.post("/api/v1/audit/verify", token=token),
                 api.get("/api/v1/audit/export", token=token)):
        assert (await call).status_code == 403


def test_cli_verify_and_export(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from hub.cli import app

    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path))
    settings = Settings(data_dir=tmp_path)

    async def seed() -> None:
        hub = await Hub.open(settings)
        try:
            ws = await _workspace(hub)
            await _record(hub, ws, 4)
        finally:
            await hub.close()

    asyncio.run(seed())
    runner = CliRunner()
    ok = runner.invoke(app, ["audit", "verify"])
    assert ok.exit_code == 0 and "4 records" in ok.output
    out = runner.invoke(app, ["audit", "export", "--since", "2000-01-01"])
    assert out.exit_code == 0 and len(out.output.splitlines()) == 4

    async def tamper() -> None:
        hub = await Hub.open(settings)
        try:
            await _tamper(hub, "UPDATE audit_log SET body = body || ' ' WHERE seq = 2")
        finally:
            await hub.close()

    asyncio.run(tamper())
    bad = runner.invoke(app, ["audit", "verify"])
    assert bad.exit_code == 1
    assert "error[audit_chain_broken]" in bad.output and "record 2" in bad.output
    assert runner.invoke(app, ["audit", "export", "--since", "yesterday"]).exit_code == 2
