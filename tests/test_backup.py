"""`hub backup` and `hub restore`: a consistent copy taken while the hub writes, restored into
an empty data directory, every connection, zap, run and table row reads back."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from engine_support import echo, open_hub, queue
from typer.testing import CliRunner

from hub.cli import app
from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import HubError
from hub.services import connections, identity, zaps
from hub.services import runs as runs_svc
from hub.settings import Settings
from hub.store.tables import workspaces
from hub.tables import catalog, query, rows
from hub.tables.access import store_for
from plugins import engine_fixtures as fx

KEY = "sk-ant-api03-backup-secret-0001"
TABLE = {"name": "contacts", "key": "email",
         "columns": [{"name": "email", "type": "text"}, {"name": "score", "type": "integer"}]}


def cli(monkeypatch: pytest.MonkeyPatch, data_dir: Path, *args: str) -> Any:
    monkeypatch.setenv("HUB_DATA_DIR", str(data_dir))
    return CliRunner().invoke(app, list(args))


async def workspace(hub: Hub) -> str:
    await identity.bootstrap(hub)
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(workspaces.c.id))).scalar_one()


async def fill(hub: Hub, ws: str) -> None:
    await connections.create_connection(hub, workspace_id=ws, connector="anthropic",
                                        name="anth", values={"api_key": KEY})
    await queue(hub, ws, [echo("a", value={"n": 1}), echo("b", value="{{ steps.a.value }}")],
                n=3, name="flow")
    worker = Worker(hub, poll_interval=0.02)
    await worker.run_until_idle()
    await worker.stop()
    store = store_for(hub)
    await catalog.create_table(store, workspace_id=ws, spec=TABLE)
    for i in range(2):
        await rows.insert(store, workspace_id=ws, name="contacts",
                          values={"email": f"u{i}@x.io", "score": i})


async def everything(hub: Hub, ws: str) -> dict[str, Any]:
    """What a user can read back: connections (decrypted, then masked), zaps, runs with
    their steps (decrypted payloads), table rows."""
    conns = await connections.list_connections(hub, workspace_id=ws)
    page = await runs_svc.list_runs(hub, workspace_id=ws, limit=200)
    return {
        "connections": [await connections.get_connection(hub, workspace_id=ws,
                                                         connection_id=c["id"]) for c in conns],
        "zaps": [await zaps.get_zap(hub, workspace_id=ws, zap_id=z["id"])
                 for z in await zaps.list_zaps(hub, workspace_id=ws)],
        "runs": {r["id"]: await runs_svc.get_run(hub, workspace_id=ws, run_id=r["id"])
                 for r in page["items"]},
        "rows": await query.find(store_for(hub), workspace_id=ws, name="contacts",
                                 read=query.Read()),
    }


async def test_round_trip_while_the_hub_writes(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    fx.reset()
    src, dst = tmp_path / "src", tmp_path / "dst"
    hub = await open_hub(Settings(data_dir=src))
    try:
        ws = await workspace(hub)
        await fill(hub, ws)
        before = await everything(hub, ws)
        zap_id = before["zaps"][0]["id"]
        writing = True

        async def keep_writing() -> int:  # runs enqueued while the backup is taken
            n = 0
            while writing:
                await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap_id, data={"n": n})
                n += 1
                await asyncio.sleep(0)
            return n

        writer = asyncio.create_task(keep_writing())
        await asyncio.sleep(0.05)
        result = await asyncio.to_thread(cli, monkeypatch, src, "backup",
                                         str(tmp_path / "b.db"))
        writing = False
        written = await writer
    finally:
        await hub.close()
    assert result.exit_code == 0, result.output
    assert written > 0
    assert "key ring is NOT in the backup" in result.output and "master.key" in result.output
    assert KEY not in (tmp_path / "b.db").read_bytes().decode("latin-1")
    assert (tmp_path / "b.db").stat().st_mode & 0o077 == 0

    result = cli(monkeypatch, dst, "restore", str(tmp_path / "b.db"))
    assert result.exit_code == 0, result.output
    assert "master.key" in result.output
    shutil.copy2(src / "master.key", dst / "master.key")  # the key ring, restored apart
    restored = await open_hub(Settings(data_dir=dst))
    try:
        after = await everything(restored, ws)
    finally:
        await restored.close()
    assert after["connections"] == before["connections"]
    assert after["zaps"] == before["zaps"]
    assert after["rows"] == before["rows"]
    assert {k: after["runs"][k] for k in before["runs"]} == before["runs"]
    assert all(r["status"] == "succeeded" for r in before["runs"].values())
    assert len(after["runs"]) > len(before["runs"])  # some concurrent runs made it in


async def test_restored_without_the_key_ring_refuses_to_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    hub = await open_hub(Settings(data_dir=tmp_path / "src"))
    try:
        await connections.create_connection(hub, workspace_id=await workspace(hub),
                                            connector="anthropic", name="a",
                                            values={"api_key": KEY})
    finally:
        await hub.close()
    assert cli(monkeypatch, tmp_path / "src", "backup", str(tmp_path / "b.db")).exit_code == 0
    assert cli(monkeypatch, tmp_path / "dst", "restore", str(tmp_path / "b.db")).exit_code == 0
    with pytest.raises(HubError) as caught:
        await open_hub(Settings(data_dir=tmp_path / "dst"))
    assert caught.value.code == "missing_key"


def test_hostile_and_mistaken_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    assert cli(monkeypatch, data, "db", "upgrade").exit_code == 0
    (tmp_path / "taken").write_text("x")
    r = cli(monkeypatch, data, "backup", str(tmp_path / "taken"))
    assert r.exit_code == 2 and r.stderr.startswith("error[file_exists]")
    assert (tmp_path / "taken").read_text() == "x"
    r = cli(monkeypatch, tmp_path / "none", "backup", str(tmp_path / "b.db"))
    assert r.exit_code == 2 and "database_not_found" in r.stderr
    for name, content in (("text", b"hello"), ("torn", b"SQLite format 3\x00" + b"\x00" * 90)):
        (tmp_path / name).write_bytes(content)
        r = cli(monkeypatch, tmp_path / f"r-{name}", "restore", str(tmp_path / name))
        assert r.exit_code == 2 and r.stderr.startswith("error[invalid_backup]"), r.output
        assert not (tmp_path / f"r-{name}" / "hub.db").exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    r = cli(monkeypatch, tmp_path / "r-other", "restore", str(other))
    assert r.exit_code == 2 and "invalid_backup" in r.stderr
    r = cli(monkeypatch, tmp_path / "r-missing", "restore", str(tmp_path / "missing.db"))
    assert r.exit_code == 2 and "file_not_found" in r.stderr
    assert cli(monkeypatch, data, "backup", str(tmp_path / "b.db")).exit_code == 0
    r = cli(monkeypatch, data, "restore", str(tmp_path / "b.db"))  # data is not empty
    assert r.exit_code == 2 and "restore_target_not_empty" in r.stderr


def test_postgres_prints_pg_dump_and_refuses(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+asyncpg://hub:s3cr3t-pw@db:5432/hub")
    monkeypatch.setenv("HUB_DATABASE_SCHEMA", "tenant")
    r = cli(monkeypatch, tmp_path, "backup", str(tmp_path / "hub.dump"))
    assert r.exit_code == 2 and "error[use_pg_dump]" in r.stderr
    assert "pg_dump --format=custom --schema=tenant" in r.stderr and "key ring" in r.stderr
    assert "s3cr3t-pw" not in r.output
    r = cli(monkeypatch, tmp_path, "restore", str(tmp_path / "hub.dump"))
    assert r.exit_code == 2 and "pg_restore" in r.stderr and "s3cr3t-pw" not in r.output
