"""Vault failure modes: a lost key ring is never replaced, corrupt records are named, rotation
gets past a corrupt data key, run details always render, and one workspace's unreadable key
leaves the others alone."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from apiclient import Api
from pydantic import SecretStr
from test_webhook_support import create_hook, hub_of, webhook_zap
from typer.testing import CliRunner
from vaulthelp import VALUES, load_vault_plugin

from hub.cli import app
from hub.cli.keys import _status, rotate_to
from hub.context import Hub
from hub.errors import HubError
from hub.services import connections as svc
from hub.services import identity
from hub.settings import Settings
from hub.store.tables import run_steps, runs
from hub.testing.people import owner_token
from hub.vault import keys
from hub.vault.envelope import DecryptionFailed
from hub.vault.tables import connections, data_keys, vault_settings


@pytest.fixture(autouse=True)
def _plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_vault_plugin(monkeypatch)


async def _flip(hub: Hub, table: sa.Table, column: str, where: Any) -> None:
    """Alter one byte of a stored blob, as a disk fault or a hostile operator would."""
    async with hub.db.write() as conn:
        blob = bytearray((await conn.execute(sa.select(table.c[column]).where(where)))
                         .scalar_one())
        blob[-5] ^= 0x20
        await conn.execute(table.update().where(where).values({column: bytes(blob)}))


async def _key_of(hub: Hub, ws: str, name: str) -> str:
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(connections.c.data_key_id).where(
            connections.c.workspace_id == ws, connections.c.name == name))).scalar_one()


@pytest.fixture
async def stored(settings: Settings) -> AsyncIterator[tuple[Settings, str]]:
    """A database holding encrypted data, its hub closed; yields the settings and KEK id."""
    hub = await Hub.open(settings)
    try:
        owner = await identity.authenticate(hub, await owner_token(hub))
        await svc.create_connection(hub, workspace_id=owner.workspace_id, connector="vlt",
                                    name="main", values=VALUES)
        kek_id = hub.secrets.current_key_id()  # type: ignore[union-attr]
    finally:
        await hub.close()
    yield settings, kek_id


async def test_a_lost_key_ring_is_never_replaced(stored: tuple[Settings, str]) -> None:
    settings, kek_id = stored
    ring = settings.data_dir / "master.key"
    kept = ring.read_bytes()
    ring.unlink()
    with pytest.raises(HubError) as exc:
        await Hub.open(settings)
    assert exc.value.code == "missing_key" and exc.value.extra["key_ids"] == [kek_id]
    assert str(ring) in exc.value.message and "does not exist" in exc.value.message
    assert not ring.exists()  # no new key written over data that needs the old one
    other = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(HubError) as exc:
        await Hub.open(settings.model_copy(update={"master_key": SecretStr(other)}))
    assert exc.value.code == "missing_key" and kek_id in exc.value.message
    assert exc.value.extra["expected_in"] == "HUB_MASTER_KEY"
    ring.write_bytes(kept)
    hub = await Hub.open(settings)  # restored: it opens again, nothing was lost
    await hub.close()


async def test_an_empty_database_gets_a_first_key(settings: Settings) -> None:
    ring = settings.data_dir / "master.key"
    assert not ring.exists()
    hub = await Hub.open(settings)
    try:
        assert ring.exists() and oct(ring.stat().st_mode & 0o777) == "0o600"
    finally:
        await hub.close()


async def test_corrupt_records_are_named(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="main",
                                values=VALUES)
    dk = await _key_of(hub, ws, "main")
    await _flip(hub, data_keys, "wrapped", data_keys.c.id == dk)
    with pytest.raises(DecryptionFailed) as exc:
        await svc.get_credentials(hub, workspace_id=ws, name="main")
    assert f"data_keys {dk} (workspace {ws}, purpose connection)" in exc.value.message
    await hub.payloads.prepare(ws)
    async with hub.db.read() as conn:
        payload_key = (await conn.execute(sa.select(vault_settings.c.payload_key_id).where(
            vault_settings.c.workspace_id == ws))).scalar_one()
    await _flip(hub, data_keys, "wrapped", data_keys.c.id == payload_key)
    hub.payloads.forget(ws)  # as after a restart: the key is read again
    with pytest.raises(HubError) as exc:
        await hub.payloads.prepare(ws)
    assert exc.value.code == "workspace_key_unreadable" and exc.value.status == 503
    assert f"vault_settings {ws}" in exc.value.message and payload_key in exc.value.message


async def test_rotation_gets_past_a_corrupt_data_key(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    for i in range(4):
        await svc.create_connection(hub, workspace_id=ws, connector="vlt", name=f"c{i}",
                                    values=VALUES)
    bad_key = await _key_of(hub, ws, "c1")
    await _flip(hub, data_keys, "wrapped", data_keys.c.id == bad_key)
    old = hub.secrets.current_key_id()  # type: ignore[union-attr]
    new = hub.secrets.add_key()  # type: ignore[union-attr]
    moved, bad = await rotate_to(hub, new, 1, show=False)  # one per page: the bad one alone
    assert moved == 3 and [b["id"] for b in bad] == [bad_key]
    assert bad[0]["code"] == "decryption_failed" and bad[0]["kek_id"] == old
    status = await _status(hub)  # the truth: current key, what is left where, what is bad
    assert status["current"] == new
    assert {k["key_id"]: k["data_keys"] for k in status["keys"]} == {old: 1, new: 3}  # type: ignore[attr-defined]
    assert [b["id"] for b in status["unreadable"]] == [bad_key]  # type: ignore[attr-defined]
    with pytest.raises(HubError) as exc:
        await keys.check_retirable(hub, old)
    assert exc.value.code == "key_in_use"
    for name in ("c0", "c2", "c3"):
        assert (await svc.get_credentials(hub, workspace_id=ws, name=name)).region == "eu"
    assert await rotate_to(hub, new, 100, show=False) == (0, bad)  # resume: the same report


TWO_STEPS = {"name": "two", "trigger": {"kind": "manual"},
             "steps": [{"id": "a", "use": "core.transform", "input": {"v": "{{ trigger.v }}"}},
                       {"id": "b", "use": "core.transform", "input": {"w": "{{ steps.a.v }}"}}]}


async def test_run_detail_always_renders(api: Api, caplog: pytest.LogCaptureFixture) -> None:
    zid = (await api.post("/api/v1/zaps", json=TWO_STEPS)).json()["id"]
    rid = (await api.post(f"/api/v1/zaps/{zid}/runs?wait=10", json={"input": {"v": 7}})
           ).json()["id"]
    hub = hub_of(api)
    async with hub.db.read() as conn:
        last = (await conn.execute(sa.select(sa.func.max(run_steps.c.seq)).where(
            run_steps.c.run_id == rid))).scalar_one()
    await _flip(hub, run_steps, "output", (run_steps.c.run_id == rid) & (run_steps.c.seq == last))
    async with hub.db.write() as conn:  # plain payloads that are not JSON, or nested too deep
        await conn.execute(runs.update().where(runs.c.id == rid).values(
            result=b'{"not json', trigger_data=b"[" * 100_000 + b"]" * 100_000))
    caplog.set_level(logging.WARNING, "hub.runs")
    r = await api.get(f"/api/v1/runs/{rid}")
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["steps"][-1]["output"] == {"unreadable": "decryption_failed",
                                          "record": f"run_steps {rid} seq {last} output"}
    assert run["result"] == {"unreadable": "undecodable", "record": f"runs {rid} result"}
    assert run["trigger"]["unreadable"] == "undecodable"
    assert run["steps"][0]["output"] == {"v": 7} and run["status"] == "succeeded"
    lines = [r.getMessage() for r in caplog.records if r.name == "hub.runs"]
    assert len(lines) == 1 and f"run_steps {rid} seq {last} output" in lines[0]
    assert (await api.get("/api/v1/runs")).status_code == 200


async def _finished(api: Api, run_id: str) -> None:
    for _ in range(500):
        if (await api.get(f"/api/v1/runs/{run_id}")).json()["status"] == "succeeded":
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the run did not finish")


async def _hook_in(api: Api, token: str, name: str) -> str:
    made = (await api.post("/api/v1/zaps", token=token, json=webhook_zap(name))).json()
    return (await api.get(f"/api/v1/zaps/{made['id']}", token=token)).json()["webhook"]["path"]


async def test_unreadable_workspace_key_fails_only_its_own_webhooks(
        api: Api, caplog: pytest.LogCaptureFixture) -> None:
    hub = hub_of(api)
    other = await identity.create_workspace(hub, name="B", owner_email="b@x.io")
    _, path_a = await create_hook(api, webhook_zap("a"))
    path_b = await _hook_in(api, other["token"], "b")
    first = await api.client.post(path_a, json={"n": 1})
    assert first.status_code == 202
    await _finished(api, first.json()["run_id"])
    ws_a = (await api.get("/api/v1/me")).json()["workspace_id"]
    async with hub.db.read() as conn:
        payload_key = (await conn.execute(sa.select(vault_settings.c.payload_key_id).where(
            vault_settings.c.workspace_id == ws_a))).scalar_one()
    await _flip(hub, data_keys, "wrapped", data_keys.c.id == payload_key)
    hub.payloads.forget(ws_a)  # as after a restart
    caplog.set_level(logging.INFO)
    for _ in range(3):
        r = await api.client.post(path_a, json={"n": 2})
        assert r.status_code == 503 and r.json()["code"] == "workspace_key_unreadable"
        assert r.headers["retry-after"] == "60" and payload_key not in r.text
        assert (await api.client.post(path_b, json={"n": 3})).status_code == 202
    named = [r for r in caplog.records if payload_key in r.getMessage()]
    assert len(named) == 1 and not any(r.exc_info or r.exc_text for r in caplog.records)
    detail = (await api.get(f"/api/v1/runs/{first.json()['run_id']}")).json()
    assert detail["trigger"]["unreadable"] == "workspace_key_unreadable"
    zap_a = (await api.get("/api/v1/zaps")).json()
    started = await api.post(f"/api/v1/zaps/{zap_a[0]['id']}/runs", json={"input": {}})
    assert started.status_code == 503 and started.json()["code"] == "workspace_key_unreadable"


def test_cli_rotation_reports_and_status_tells_the_truth(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))

    async def corrupt_one() -> str:
        hub = await Hub.open(settings)
        try:
            owner = await identity.authenticate(hub, await owner_token(hub))
            for name in ("a", "b"):
                await svc.create_connection(hub, workspace_id=owner.workspace_id,
                                            connector="vlt", name=name, values=VALUES)
            dk = await _key_of(hub, owner.workspace_id, "b")
            await _flip(hub, data_keys, "wrapped", data_keys.c.id == dk)
            return dk
        finally:
            await hub.close()

    bad = asyncio.run(corrupt_one())
    r = CliRunner().invoke(app, ["keys", "rotate"])
    assert r.exit_code == 1 and "re-wrapped 1 data key(s)" in r.stdout, r.output
    assert f"data_keys {bad} " in r.stderr and "error[rotation_incomplete]: 1 data key" in r.stderr
    r = CliRunner().invoke(app, ["keys", "status"])
    assert r.exit_code == 0 and f"unreadable: data_keys {bad} " in r.stdout
    assert "1 data key(s) cannot be unwrapped" in r.stdout
    assert [line.split()[-3] for line in r.stdout.splitlines()[:2]] == ["1", "1"]  # new, old
