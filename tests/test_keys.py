"""KEK rotation: status, rotate online during running zaps, resume, roll back, retire (CLI)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner
from vaulthelp import SECRET, VALUES, echo_zap, load_vault_plugin

from hub.cli import app
from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import connections as svc
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.vault import keys
from hub.vault.tables import data_keys
from plugins import vault_fixtures as vf


@pytest.fixture(autouse=True)
def _plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_vault_plugin(monkeypatch)


async def _kek_ids(hub: Hub) -> set[str]:
    async with hub.db.read() as conn:
        return set((await conn.execute(sa.select(data_keys.c.kek_id))).scalars())


async def _until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_rotation_while_zaps_run(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    for i in range(5):
        await svc.create_connection(hub, workspace_id=ws, connector="vlt", name=f"c{i}",
                                    values=VALUES)
    gated = await zaps_svc.create_zap(hub, workspace_id=ws,
                                      document=echo_zap("gated", "c0", gate=True))
    quick = await zaps_svc.create_zap(hub, workspace_id=ws, document=echo_zap("quick", "c1"))
    old = hub.secrets.current_key_id()  # type: ignore[union-attr]
    vf.GATE = asyncio.Event()
    worker = Worker(hub, poll_interval=0.01)
    worker.start()
    try:
        before = [await runs_svc.start_run(hub, workspace_id=ws, zap_id=gated["id"],
                                           data={"text": str(i)}) for i in range(3)]
        hub.wake()

        async def all_waiting() -> bool:
            return len(worker.active) == 3
        await _until(all_waiting)
        new = hub.secrets.add_key()  # type: ignore[union-attr]
        moved, after = 0, ""
        while after is not None:  # small batches, runs interleave
            page = await keys.rewrap_batch(hub, new, batch=2, after=after)
            moved, after = moved + page.moved, page.after
            assert not page.bad
            await runs_svc.start_run(hub, workspace_id=ws, zap_id=quick["id"], data={"text": "x"})
            hub.wake()
        assert moved == 5 + 1  # five connections and the workspace's payload key
        vf.GATE.set()
        after = await runs_svc.start_run(hub, workspace_id=ws, zap_id=quick["id"],
                                         data={"text": "after"})
        hub.wake()

        async def all_done() -> bool:
            listed = await runs_svc.list_runs(hub, workspace_id=ws, limit=100)
            items = listed["items"] if isinstance(listed, dict) else listed
            return len(items) >= 7 and all(r["status"] in runs_svc.FINAL for r in items)
        await _until(all_done, 20)
    finally:
        await worker.stop()
        vf.GATE = None
    listed = await runs_svc.list_runs(hub, workspace_id=ws, limit=100)
    items = listed["items"] if isinstance(listed, dict) else listed
    assert {r["status"] for r in items} == {"succeeded"}
    for run in [*before, after]:
        detail = await runs_svc.get_run(hub, workspace_id=ws, run_id=run["id"])
        assert detail["steps"][-1]["output"]["echoed_key"] == "**********"
    assert await _kek_ids(hub) == {new} and old != new
    creds = await svc.get_credentials(hub, workspace_id=ws, name="c4")
    assert creds.api_key.get_secret_value() == SECRET


@pytest.fixture
def cli(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=input)

    return invoke


def _status(cli) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    r = cli("keys", "status", "--json")
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def test_cli_connections_and_key_lifecycle(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("connections", "create", "vlt", "--name", "main", input=f"{SECRET}\neu\n")
    assert r.exit_code == 0, r.output
    assert SECRET not in r.output  # typed without echo
    r = cli("connections", "create", "vlt", "--name", "bad", input=f"{vf.BAD_KEY}\neu\n")
    assert r.exit_code == 2 and "[invalid_auth]" in r.output
    r = cli("connections", "create", "vlt", "--name", "x", "--set", f"api_key={SECRET}")
    assert r.exit_code == 2 and "secret_on_command_line" in r.output
    for args in (("list",), ("show", "main"), ("test", "main")):
        r = cli("connections", *args)
        assert r.exit_code == 0 and SECRET not in r.output, r.output
    assert "**********" in cli("connections", "show", "main").output
    first = _status(cli)
    old = first["current"]
    assert first["keys"] == [{"key_id": old, "data_keys": 1, "in_store": True}]
    r = cli("keys", "retire", old)
    assert r.exit_code == 2 and "key_in_use" in r.output
    r = cli("keys", "rotate", "--batch", "1")
    assert r.exit_code == 0 and "re-wrapped 1 data key(s)" in r.output, r.output
    second = _status(cli)
    new = second["current"]
    assert {k["key_id"]: k["data_keys"] for k in second["keys"]} == {old: 0, new: 1}
    r = cli("keys", "rotate", "--to", old)  # roll back before retiring
    assert r.exit_code == 0 and _status(cli)["current"] == old
    assert cli("keys", "rotate", "--to", new).exit_code == 0
    r = cli("keys", "retire", old)
    assert r.exit_code == 0, r.output
    assert [k["key_id"] for k in _status(cli)["keys"]] == [new]
    assert cli("keys", "rotate", "--to", old).exit_code == 2  # gone
    assert cli("connections", "test", "main").exit_code == 0
    assert "delete" in cli("connections", "delete", "main").output
    assert cli("connections", "show", "main").exit_code == 2


async def test_interrupted_rotation_resumes(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    for i in range(4):
        await svc.create_connection(hub, workspace_id=ws, connector="vlt", name=f"c{i}",
                                    values=VALUES)
    old = hub.secrets.current_key_id()  # type: ignore[union-attr]
    new = hub.secrets.add_key()  # type: ignore[union-attr]
    assert (await keys.rewrap_batch(hub, new, batch=2)).moved == 2  # then the process "crashed"
    assert await _kek_ids(hub) == {old, new}
    with pytest.raises(Exception) as exc:
        await keys.check_retirable(hub, old)
    assert getattr(exc.value, "code", "") == "key_in_use"
    assert "2 data key(s)" in str(exc.value)
    from hub.cli.keys import rotate_to

    assert await rotate_to(hub, new, 100, show=False) == (2, [])
    assert await rotate_to(hub, new, 100, show=False) == (0, [])  # idempotent
    assert await _kek_ids(hub) == {new}
    await keys.check_retirable(hub, old)
    for i in range(4):
        creds = await svc.get_credentials(hub, workspace_id=ws, name=f"c{i}")
        assert creds.api_key.get_secret_value() == SECRET
