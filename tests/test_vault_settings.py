"""/api/v1/vault/settings: admins switch payload encryption at rest; other processes follow."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hub.context import Hub
from hub.services import identity, people
from hub.store import codec
from hub.store.tables import runs
from hub.vault import envelope, payloads

ZAP = {"name": "hello", "trigger": {"kind": "manual"},
       "steps": [{"id": "say", "use": "core.transform",
                  "input": {"text": "Hello, {{ trigger.name }}!"}}]}


async def _stored(hub: Hub, run_id: str) -> bytes:
    async with hub.db.read() as conn:
        return bytes((await conn.execute(sa.select(runs.c.trigger_data).where(
            runs.c.id == run_id))).scalar_one())


async def _run(api: Any, zap_id: str, name: str) -> dict[str, Any]:
    r = await api.post(f"/api/v1/zaps/{zap_id}/runs?wait=10", json={"input": {"name": name}})
    assert r.status_code == 200 and r.json()["status"] == "succeeded", r.text
    return r.json()


async def test_admin_switches_payload_encryption(api: Any) -> None:
    hub: Hub = api.app.state.hub
    r = await api.get("/api/v1/vault/settings")
    assert r.status_code == 200 and r.json()["encrypt_payloads"] is True
    assert r.json()["refresh_seconds"] == payloads.REFRESH
    zid = (await api.post("/api/v1/zaps", json=ZAP)).json()["id"]
    sealed = await _run(api, zid, "Ada")
    assert (await _stored(hub, sealed["id"]))[0] == envelope.VERSION
    r = await api.put("/api/v1/vault/settings", json={"encrypt_payloads": False})
    assert r.status_code == 200 and r.json()["encrypt_payloads"] is False
    assert (await api.get("/api/v1/vault/settings")).json()["encrypt_payloads"] is False
    plain = await _run(api, zid, "Bo")
    assert b"Bo" in await _stored(hub, plain["id"])
    # both stay readable
    for run, name in ((sealed, "Ada"), (plain, "Bo")):
        got = (await api.get(f"/api/v1/runs/{run['id']}")).json()
        assert got["result"] == {"text": f"Hello, {name}!"}
    r = await api.put("/api/v1/vault/settings", json={"encrypt_payloads": True})
    assert r.json()["encrypt_payloads"] is True
    again = await _run(api, zid, "Cy")
    assert (await _stored(hub, again["id"]))[0] == envelope.VERSION


async def test_roles_and_bad_input(api: Any) -> None:
    hub: Hub = api.app.state.hub
    owner = await identity.authenticate(hub, api.token)
    tokens = {}
    for role in ("editor", "viewer", "admin"):
        user = await people.create_user(hub, actor=owner, email=f"{role}@example.com",
                                          role=role)
        tokens[role] = user["token"]
    for role in ("editor", "viewer"):
        for call in (api.get("/api/v1/vault/settings", token=tokens[role]),
                     api.put("/api/v1/vault/settings", token=tokens[role],
                             json={"encrypt_payloads": False})):
            r = await call
            assert r.status_code == 403, (role, r.text)
    assert (await api.get("/api/v1/vault/settings")).json()["encrypt_payloads"] is True
    r = await api.put("/api/v1/vault/settings", token=tokens["admin"],
                      json={"encrypt_payloads": False})
    assert r.status_code == 200 and r.json()["encrypt_payloads"] is False
    for body in ({}, {"encrypt_payloads": "maybe"}, {"encrypt_payloads": True, "x": 1}):
        r = await api.put("/api/v1/vault/settings", json=body)
        assert r.status_code == 422 and r.json()["code"], r.text
    r = await api.get("/api/v1/vault/settings", token="zh_not_a_token_at_all_xxxxxxxx")
    assert r.status_code == 401


async def test_another_process_follows_within_refresh(api: Any) -> None:
    hub: Hub = api.app.state.hub
    ws = (await api.get("/api/v1/me")).json()["workspace_id"]
    other = await Hub.open(hub.settings)  # a second process: its own pool and codec cache
    try:
        await other.payloads.prepare(ws)
        assert other.payloads.encode(ws, {"a": 1})[0] == envelope.VERSION
        assert (await api.put("/api/v1/vault/settings",
                              json={"encrypt_payloads": False})).status_code == 200
        await other.payloads.prepare(ws)  # within the refresh window: still the old value
        assert other.payloads.encode(ws, {"a": 1})[0] == envelope.VERSION
        other.payloads._ws[ws].loaded -= payloads.REFRESH + 1  # the window passed
        await other.payloads.prepare(ws)  # after it: the new value
        assert other.payloads.encode(ws, {"a": 1}) == codec.encode({"a": 1})
    finally:
        await other.close()
