"""Abuse is refused with a stable code and recorded in the audit trail (at most once a minute
per caller and kind, so repeating it cannot flood the trail)."""

from __future__ import annotations

import time

import httpx
import sqlalchemy as sa
from apiclient import Api
from test_api_zaps import ZAP

from hub.audit.tables import audit_log
from hub.store.tables import auth_links


async def _records(api: Api, action: str) -> list[dict]:
    async with api.app.state.hub.db.read() as conn:
        rows = await conn.execute(sa.select(audit_log).where(audit_log.c.action == action))
        return [dict(r._mapping) for r in rows]


def _browser(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app),
                             base_url="http://hub.test")


async def test_a_viewer_writing_is_refused_and_recorded(api: Api) -> None:
    viewer = (await api.post("/api/v1/users", json={"email": "v@x.io"})).json()
    for _ in range(3):
        r = await api.post("/api/v1/zaps", token=viewer["token"], json=ZAP)
        assert r.status_code == 403 and r.json()["code"] == "insufficient_role"
    r = await api.post("/api/v1/tables", token=viewer["token"], json={})
    assert r.status_code == 403
    denied = await _records(api, "access.denied")
    assert sorted(d["target_id"] for d in denied) == ["POST /api/v1/tables",
                                                      "POST /api/v1/zaps"]
    assert all(d["actor_id"] == viewer["id"] for d in denied)


async def test_a_token_outside_its_scope_is_recorded(api: Api) -> None:
    tok = (await api.post("/api/v1/tokens", json={"name": "ro", "read_only": True})).json()
    r = await api.post("/api/v1/zaps", token=tok["token"], json=ZAP)
    assert r.status_code == 403 and r.json()["code"] == "token_scope"
    denied = await _records(api, "access.denied")
    assert [d["actor_token"] for d in denied] == [tok["id"]]
    assert '"code":"token_scope"' in denied[0]["body"]


async def test_reused_and_expired_links_are_recorded(api: Api) -> None:
    inv = (await api.post("/api/v1/invitations", json={"email": "n@x.io"})).json()
    body = {"token": inv["token"], "password": "long enough password"}
    assert (await _browser(api).post("/api/v1/invitations/accept", json=body)).status_code == 200
    r = await _browser(api).post("/api/v1/invitations/accept", json=body)
    assert r.status_code == 410 and r.json()["code"] == "link_used"
    late = (await api.post("/api/v1/invitations", json={"email": "l@x.io"})).json()
    async with api.app.state.hub.db.write() as conn:
        await conn.execute(auth_links.update().where(auth_links.c.id == late["id"]).values(
            expires_at=time.time() - 1))
    r = await _browser(api).post("/api/v1/invitations/accept", json={
        "token": late["token"], "password": "long enough password"})
    assert r.status_code == 410 and r.json()["code"] == "link_expired"
    refused = await _records(api, "auth.link_refused")
    assert sorted((d["target_id"], '"code":"link_used"' in d["body"]) for d in refused) == \
        sorted([(inv["id"], True), (late["id"], False)])


async def test_wrong_passwords_lock_and_are_recorded(api: Api) -> None:
    inv = (await api.post("/api/v1/invitations", json={"email": "w@x.io"})).json()
    await _browser(api).post("/api/v1/invitations/accept", json={
        "token": inv["token"], "password": "long enough password"})
    client = _browser(api)
    for _ in range(6):
        await client.post("/api/v1/auth/login", json={"email": "w@x.io", "password": "nope"})
    assert len(await _records(api, "auth.sign_in_failed")) == 5
    assert len(await _records(api, "auth.sign_in_throttled")) == 1
