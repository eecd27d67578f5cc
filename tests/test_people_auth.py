"""Signing in: the setup link, sessions with CSRF, throttled wrong passwords, workspaces."""

from __future__ import annotations

import time

import httpx
import sqlalchemy as sa
from apiclient import Api
from test_api_zaps import ZAP

from hub.audit.tables import audit_log
from hub.services import identity
from hub.settings import Settings
from hub.store.tables import auth_links, users
from hub.web.app import create_app

PASSWORD = "correct horse battery"


async def _setup_link(api: Api) -> str:
    """A fresh setup link for the first owner (as on a first start)."""
    hub = api.app.state.hub
    ws = (await api.get("/api/v1/me")).json()["workspace_id"]
    async with hub.db.write() as conn:
        owner = (await conn.execute(sa.select(users.c.id).where(
            users.c.email == identity.FIRST_OWNER))).scalar_one()
        return (await identity.insert_link(conn, kind="setup", ttl=60, workspace_id=ws,
                                           user_id=owner))[1]


def _cookie_client(api: Api, cookie: str | None = None) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app),
                             base_url="http://hub.test",
                             cookies={"zh_session": cookie} if cookie else None)


async def _actions(api: Api) -> list[str]:
    async with api.app.state.hub.db.read() as conn:
        return list((await conn.execute(sa.select(audit_log.c.action).order_by(
            audit_log.c.at, audit_log.c.seq))).scalars())


async def _signed_in(api: Api, email: str = "Boss@Example.com") -> tuple[httpx.AsyncClient,
                                                                         str]:
    link = await _setup_link(api)
    browser = _cookie_client(api)
    r = await browser.post("/api/v1/setup", json={"token": link, "email": email,
                                                  "password": PASSWORD, "name": "Boss"})
    assert r.status_code == 200, r.text
    return browser, r.json()["csrf_token"]


async def test_first_start_announces_a_single_use_link(settings: Settings) -> None:
    shown: list[str] = []
    app = create_app(settings, on_setup_token=lambda tok, _s: shown.append(tok))
    async with app.router.lifespan_context(app):
        assert len(shown) == 1 and shown[0].startswith(identity.LINK_PREFIX)
        r = await httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                    base_url="http://hub.test").get(
            "/api/v1/me", headers={"Authorization": f"Bearer {shown[0]}"})
        assert r.status_code == 401  # a setup link is no owner token
        async with app.state.hub.db.read() as conn:
            row = (await conn.execute(sa.select(auth_links))).one()
        assert row.token_hash == identity.hash_token(shown[0]) and shown[0] not in str(row)
        assert 23.9 * 3600 < row.expires_at - time.time() <= 24 * 3600


async def test_setup_sets_the_owner_password_once(api: Api) -> None:
    link = await _setup_link(api)
    browser = _cookie_client(api)
    body = {"token": link, "email": "Boss@Example.com", "password": PASSWORD, "name": "B"}
    r = await browser.post("/api/v1/setup", json={**body, "password": "short"})
    assert r.status_code == 400 and r.json()["code"] == "weak_password"
    r = await browser.post("/api/v1/setup", json=body)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "secure" not in cookie
    me = (await browser.get("/api/v1/auth/me")).json()
    assert me["user"]["email"] == "boss@example.com" and me["role"] == "owner"
    again = await _cookie_client(api).post("/api/v1/setup", json=body)
    assert again.status_code == 410 and again.json()["code"] == "link_used"
    bad = await _cookie_client(api).post("/api/v1/setup", json={**body, "token": "zl_nope"})
    assert bad.status_code == 400 and bad.json()["code"] == "link_invalid"
    assert "auth.setup_completed" in await _actions(api)


async def test_expired_setup_link(api: Api) -> None:
    link = await _setup_link(api)
    async with api.app.state.hub.db.write() as conn:
        await conn.execute(auth_links.update().values(expires_at=time.time() - 1))
    r = await _cookie_client(api).post("/api/v1/setup", json={
        "token": link, "email": "a@b.io", "password": PASSWORD})
    assert r.status_code == 410 and r.json()["code"] == "link_expired"
    async with api.app.state.hub.db.read() as conn:
        assert (await conn.execute(sa.select(users.c.password_hash))).scalars().all() == [None]


async def test_session_cookie_needs_csrf_for_changes(api: Api) -> None:
    browser, csrf = await _signed_in(api)
    assert (await browser.get("/api/v1/zaps")).status_code == 200
    r = await browser.post("/api/v1/zaps", json=ZAP)
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = await browser.post("/api/v1/zaps", json=ZAP, headers={"X-CSRF-Token": "0" * 64})
    assert r.status_code == 403 and r.json()["code"] == "csrf_failed"
    r = await browser.post("/api/v1/zaps", json=ZAP, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    assert (await browser.post("/api/v1/auth/logout",
                               headers={"X-CSRF-Token": csrf})).status_code == 204
    r = await _cookie_client(api, "zs_" + "x" * 43).get("/api/v1/zaps")
    assert r.status_code == 401 and r.json()["code"] == "invalid_session"


async def test_logout_ends_the_session_on_the_server(api: Api) -> None:
    browser, csrf = await _signed_in(api)
    cookie = browser.cookies["zh_session"]
    await browser.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf})
    r = await _cookie_client(api, cookie).get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json()["code"] == "invalid_session"


async def test_login_case_insensitive_and_secure_cookie(api: Api) -> None:
    await _signed_in(api)
    api.app.state.hub.settings.public_url = "https://hub.example.com"
    r = await _cookie_client(api).post("/api/v1/auth/login", json={
        "email": "BOSS@example.COM", "password": PASSWORD})
    assert r.status_code == 200
    assert "secure" in r.headers["set-cookie"].lower()
    assert "auth.signed_in" in await _actions(api)


async def test_wrong_passwords_are_throttled_and_audited(api: Api) -> None:
    await _signed_in(api)
    client = _cookie_client(api)
    for _ in range(5):
        r = await client.post("/api/v1/auth/login", json={"email": "boss@example.com",
                                                          "password": "wrong password"})
        assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    r = await client.post("/api/v1/auth/login", json={"email": "boss@example.com",
                                                      "password": PASSWORD})
    assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
    assert (await _actions(api)).count("auth.sign_in_failed") == 5
    r = await client.post("/api/v1/auth/login", json={"email": "nobody@example.com",
                                                      "password": PASSWORD})
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"


async def test_hostile_login_input(api: Api) -> None:
    client = _cookie_client(api)
    for body in ({"email": "x@y.z"}, {"email": "a" * 400 + "@x.io", "password": "p"},
                 {"email": "x@y.z", "password": "p" * 5000}, {"email": ["x"], "password": 1},
                 {"email": "x@y.z", "password": "p", "role": "owner"}):
        r = await client.post("/api/v1/auth/login", json=body)
        assert r.status_code == 422, body
    r = await client.post("/api/v1/auth/login", content=b"{", headers={
        "content-type": "application/json"})
    assert r.status_code in (400, 422)
    r = await _cookie_client(api, "zs_" + "a" * 5000).get("/api/v1/auth/me")
    assert r.status_code == 401


async def test_switch_workspace(api: Api) -> None:
    browser, csrf = await _signed_in(api)
    hub = api.app.state.hub
    other = await identity.create_workspace(hub, name="Other", owner_email="boss@example.com")
    third = await identity.create_workspace(hub, name="Third", owner_email="x@example.com")
    me = (await browser.get("/api/v1/auth/me")).json()
    assert {m["name"] for m in me["memberships"]} == {"Default", "Other"}
    headers = {"X-CSRF-Token": csrf}
    r = await browser.post("/api/v1/auth/workspace", headers=headers,
                           json={"workspace_id": third["workspace_id"]})
    assert r.status_code == 404 and r.json()["code"] == "workspace_not_found"
    r = await browser.post("/api/v1/auth/workspace", headers=headers,
                           json={"workspace_id": other["workspace_id"]})
    assert r.status_code == 200 and r.json()["workspace_id"] == other["workspace_id"]
    assert (await browser.get("/api/v1/me")).json()["workspace_id"] == other["workspace_id"]
    r = await api.post("/api/v1/auth/workspace", json={"workspace_id": other["workspace_id"]})
    assert r.status_code == 400 and r.json()["code"] == "not_a_session"


async def test_approver_reads_but_cannot_edit(api: Api) -> None:
    approver = (await api.post("/api/v1/users", json={"email": "a@x.io",
                                                      "role": "approver"})).json()
    assert (await api.get("/api/v1/zaps", token=approver["token"])).status_code == 200
    r = await api.post("/api/v1/zaps", token=approver["token"], json=ZAP)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_role"
    who = await identity.authenticate(api.app.state.hub, approver["token"])
    assert who.can("approvals.decide") and not who.can("zaps.write")
    assert not who.can("view_sensitive")
