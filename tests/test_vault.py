"""The vault on both backends: tampering, payloads sealed at rest, the start-up key check,
and steps that use connections (credentials in, secrets masked out)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from vaulthelp import SECRET, VALUES, echo_zap, load_vault_plugin

from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import HubError
from hub.services import connections as svc
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import run_steps, runs
from hub.vault.envelope import DecryptionFailed
from hub.vault.payloads import set_encryption
from hub.vault.tables import connections, data_keys


@pytest.fixture(autouse=True)
def _plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_vault_plugin(monkeypatch)


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


async def _two(hub: Hub, ws: str) -> tuple[dict[str, Any], dict[str, Any]]:
    a = await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="a",
                                    values=VALUES)
    b = await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="b",
                                    values={"api_key": "sk-other-123456", "region": "us"})
    return a, b


async def _set(hub: Hub, table: sa.Table, row_id: str, **values: Any) -> None:
    async with hub.db.write() as conn:
        await conn.execute(table.update().where(table.c.id == row_id).values(**values))


async def _get(hub: Hub, table: sa.Table, row_id: str) -> Any:
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(table).where(table.c.id == row_id))).one()


async def test_flipped_byte_fails_clearly(hub: Hub, ws: str) -> None:
    a, _ = await _two(hub, ws)
    row = await _get(hub, connections, a["id"])
    bad = bytearray(row.secrets)
    bad[len(bad) // 2] ^= 0x40
    await _set(hub, connections, a["id"], secrets=bytes(bad))
    with pytest.raises(DecryptionFailed) as exc:
        await svc.get_credentials(hub, workspace_id=ws, name="a")
    assert exc.value.code == "decryption_failed" and SECRET not in str(exc.value)
    assert (await svc.get_credentials(hub, workspace_id=ws, name="b")).region == "us"


async def test_swapped_rows_do_not_decrypt(hub: Hub, ws: str) -> None:
    a, b = await _two(hub, ws)
    ra, rb = await _get(hub, connections, a["id"]), await _get(hub, connections, b["id"])
    await _set(hub, connections, a["id"], secrets=rb.secrets, data_key_id=rb.data_key_id)
    with pytest.raises(DecryptionFailed):
        await svc.get_credentials(hub, workspace_id=ws, name="a")
    await _set(hub, connections, a["id"], secrets=ra.secrets, data_key_id=ra.data_key_id)
    ka, kb = await _get(hub, data_keys, ra.data_key_id), await _get(hub, data_keys, rb.data_key_id)
    await _set(hub, data_keys, ka.id, wrapped=kb.wrapped)  # a wrapped key moved to another row
    with pytest.raises(DecryptionFailed):
        await svc.get_credentials(hub, workspace_id=ws, name="a")
    await _set(hub, data_keys, ka.id, wrapped=ka.wrapped)
    assert (await svc.get_credentials(hub, workspace_id=ws, name="a")).region == "eu"


async def test_tampered_connection_is_a_clear_api_error(api) -> None:  # type: ignore[no-untyped-def]
    made = (await api.post("/api/v1/connections", json={
        "connector": "vlt", "name": "a", "values": VALUES})).json()
    hub: Hub = api.app.state.hub
    row = await _get(hub, connections, made["id"])
    await _set(hub, connections, made["id"], secrets=row.secrets[:-1] + b"\x00")
    r = await api.get("/api/v1/connections/a")
    assert r.status_code == 409 and r.json()["code"] == "decryption_failed"
    assert "Traceback" not in r.text and SECRET not in r.text


async def _run(hub: Hub, ws: str, zap: dict[str, Any], data: Any) -> dict[str, Any]:
    made = await zaps_svc.create_zap(hub, workspace_id=ws, document=zap)
    run = await runs_svc.start_run(hub, workspace_id=ws, zap_id=made["id"], data=data)
    await Worker(hub, poll_interval=0.01).run_until_idle(20)
    return await runs_svc.get_run(hub, workspace_id=ws, run_id=run["id"])


async def _stored(hub: Hub, run_id: str) -> bytes:
    async with hub.db.read() as conn:
        run = (await conn.execute(sa.select(runs).where(runs.c.id == run_id))).one()
        steps = (await conn.execute(sa.select(run_steps).where(
            run_steps.c.run_id == run_id))).all()
    blobs = [run.trigger_data, run.result or b""]
    for step in steps:
        blobs += [step.input or b"", step.output or b"", repr(step.error).encode()]
    return b"|".join(bytes(b) for b in blobs)


async def test_step_gets_credentials_and_secrets_are_masked(hub: Hub, ws: str) -> None:
    await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="main",
                                values=VALUES)
    run = await _run(hub, ws, echo_zap(), {"text": "plain-marker"})
    assert run["status"] == "succeeded", run
    out = run["steps"][-1]["output"]
    assert out["echoed_key"] == "**********" and out["region"] == "eu"
    assert out["headers"] == {"Authorization": "Bearer **********"}
    assert SECRET not in repr(run)
    stored = await _stored(hub, run["id"])
    assert SECRET.encode() not in stored and b"plain-marker" not in stored  # sealed at rest
    failed = await _run(hub, ws, echo_zap("failing", fail=True), {"text": "x"})
    assert failed["status"] == "failed"
    assert failed["error"]["code"] == "service_error" and SECRET not in repr(failed)


@pytest.mark.parametrize("reauth", [False, True])
async def test_unresolvable_connection_fails_the_step_once(hub: Hub, ws: str,
                                                           reauth: bool) -> None:
    zap = echo_zap(connection="main")
    zap["settings"] = {"default_retry": {"attempts": 3, "backoff": 0}}
    if reauth:
        made = await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="main",
                                           values=VALUES)
        await svc.mark_needs_reauth(hub, workspace_id=ws, connection_id=made["id"])
    run = await _run(hub, ws, zap, {"text": "x"})
    assert run["status"] == "failed"
    assert run["error"]["code"] == ("needs_reauth" if reauth else "connection_not_found")
    assert len(run["steps"]) == 1  # not retried


async def test_payloads_off_writes_plain_json_and_old_blobs_still_read(hub: Hub,
                                                                       ws: str) -> None:
    zap = {"name": "t", "trigger": {"kind": "manual"},
           "steps": [{"id": "s", "use": "core.transform", "input": {"v": "{{ trigger.v }}"}}]}
    sealed = await _run(hub, ws, zap, {"v": "sealed-marker"})
    assert b"sealed-marker" not in await _stored(hub, sealed["id"])
    await set_encryption(hub, workspace_id=ws, enabled=False)
    zap["name"] = "t2"
    plain = await _run(hub, ws, zap, {"v": "plain-marker"})
    assert plain["status"] == "succeeded"
    assert b"plain-marker" in await _stored(hub, plain["id"])
    again = await runs_svc.get_run(hub, workspace_id=ws, run_id=sealed["id"])
    assert again["trigger"] == {"v": "sealed-marker"} and again["status"] == "succeeded"
    await set_encryption(hub, workspace_id=ws, enabled=True)
    assert (await runs_svc.get_run(hub, workspace_id=ws, run_id=plain["id"]))["trigger"] == {
        "v": "plain-marker"}


async def test_tampered_payload_renders_as_a_marker(hub: Hub, ws: str) -> None:
    zap = {"name": "t", "trigger": {"kind": "manual"},
           "steps": [{"id": "s", "use": "core.transform", "input": {"v": 1}}]}
    run = await _run(hub, ws, zap, {"v": "x"})
    blob = bytearray(await _trigger(hub, run["id"]))
    blob[-3] ^= 1
    async with hub.db.write() as conn:
        await conn.execute(runs.update().where(runs.c.id == run["id"]).values(
            trigger_data=bytes(blob)))
    detail = await runs_svc.get_run(hub, workspace_id=ws, run_id=run["id"])
    assert detail["trigger"] == {"unreadable": "decryption_failed",
                                 "record": f"runs {run['id']} trigger_data"}
    assert detail["result"] == {"v": 1} and detail["steps"][0]["output"] == {"v": 1}


async def _trigger(hub: Hub, run_id: str) -> bytes:
    async with hub.db.read() as conn:
        return bytes((await conn.execute(sa.select(runs.c.trigger_data).where(
            runs.c.id == run_id))).scalar_one())


@pytest.fixture
async def closed_hub(settings: Settings) -> AsyncIterator[Settings]:
    """A database holding a connection, with its hub closed again."""
    hub = await Hub.open(settings)
    try:
        await identity.bootstrap(hub)
        async with hub.db.read() as conn:
            ws = (await conn.execute(sa.text("SELECT id FROM workspaces"))).scalar_one()
        await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="main",
                                    values=VALUES)
    finally:
        await hub.close()
    yield settings


async def test_missing_key_refuses_to_start(closed_hub: Settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    key_file = closed_hub.data_dir / "master.key"
    kept = tmp_path / "kept.key"
    shutil.copy(key_file, kept)
    key_id = (await _open_and_read_key_id(closed_hub))
    key_file.unlink()  # lost key: the store would make a new, different one
    with pytest.raises(HubError) as exc:
        await Hub.open(closed_hub)
    assert exc.value.code == "missing_key" and key_id in exc.value.message
    assert "backup" in exc.value.message
    shutil.copy(kept, key_file)  # restored: everything decrypts again, nothing was dropped
    hub = await Hub.open(closed_hub)
    try:
        async with hub.db.read() as conn:
            ws = (await conn.execute(sa.text("SELECT id FROM workspaces"))).scalar_one()
        creds = await svc.get_credentials(hub, workspace_id=ws, name="main")
        assert creds.api_key.get_secret_value() == SECRET
    finally:
        await hub.close()


async def _open_and_read_key_id(settings: Settings) -> str:
    hub = await Hub.open(settings)
    try:
        assert hub.secrets is not None
        return hub.secrets.current_key_id()
    finally:
        await hub.close()
