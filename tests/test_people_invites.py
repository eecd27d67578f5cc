"""Invitations, password reset links, workspaces, membership changes."""

from __future__ import annotations

import time

import httpx
import sqlalchemy as sa
from apiclient import Api

from hub.audit.tables import audit_log
from hub.services import identity, invites
from hub.store.tables import auth_links

PASSWORD = "a very long password"


def _browser(api: Api) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app),
                             base_url="http://hub.test")


async def _actions(api: Api) -> list[str]:
    async with api.app.state.hub.db.read() as conn:
        return list((await conn.execute(sa.select(audit_log.c.action))).scalars())


async def test_invitation_creates_a_member_once(api: Api) -> None:
    r = await api.post("/api/v1/invitations", json={"email": "New@X.io", "role": "editor"})
    assert r.status_code == 201
    inv = r.json()
    assert inv["link"].endswith(f"/invite?token={inv['token']}")
    listed = (await api.get("/api/v1/invitations")).json()
    assert [i["email"] for i in listed] == ["new@x.io"] and "token" not in listed[0]
    browser = _browser(api)
    r = await browser.post("/api/v1/invitations/accept", json={"token": inv["token"],
                                                               "password": "short"})
    assert r.status_code == 400 and r.json()["code"] == "weak_password"
    r = await browser.post("/api/v1/invitations/accept", json={
        "token": inv["token"], "password": PASSWORD, "name": "Nina"})
    assert r.status_code == 200, r.text
    me = (await browser.get("/api/v1/auth/me")).json()
    assert me["role"] == "editor" and me["user"]["email"] == "new@x.io"
    r = await _browser(api).post("/api/v1/invitations/accept", json={
        "token": inv["token"], "password": PASSWORD})
    assert r.status_code == 410 and r.json()["code"] == "link_used"
    assert (await api.get("/api/v1/invitations")).json() == []
    assert {"member.invited", "member.joined"} <= set(await _actions(api))


async def test_invitation_refusals(api: Api) -> None:
    editor = (await api.post("/api/v1/users", json={"email": "e@x.io", "role": "editor"})).json()
    admin = (await api.post("/api/v1/users", json={"email": "a@x.io", "role": "admin"})).json()
    r = await api.post("/api/v1/invitations", token=editor["token"], json={"email": "z@x.io"})
    assert r.status_code == 403 and r.json()["code"] == "insufficient_role"
    r = await api.post("/api/v1/invitations", token=admin["token"],
                       json={"email": "z@x.io", "role": "owner"})
    assert r.status_code == 403 and r.json()["code"] == "insufficient_role"
    r = await api.post("/api/v1/invitations", json={"email": "e@x.io"})
    assert r.status_code == 409 and r.json()["code"] == "user_exists"
    for body in ({"email": "nope"}, {"email": "z@x.io", "role": "god"},
                 {"email": "z@x.io", "extra": 1}):
        assert (await api.post("/api/v1/invitations", json=body)).status_code == 422
    inv = (await api.post("/api/v1/invitations", json={"email": "late@x.io"})).json()
    async with api.app.state.hub.db.write() as conn:
        await conn.execute(auth_links.update().where(auth_links.c.id == inv["id"]).values(
            expires_at=time.time() - 1))
    r = await _browser(api).post("/api/v1/invitations/accept", json={
        "token": inv["token"], "password": PASSWORD})
    assert r.status_code == 410 and r.json()["code"] == "link_expired"
    gone = (await api.post("/api/v1/invitations", json={"email": "gone@x.io"})).json()
    assert (await api.delete(f"/api/v1/invitations/{gone['id']}")).status_code == 204
    r = await _browser(api).post("/api/v1/invitations/accept", json={
        "token": gone["token"], "password": PASSWORD})
    assert r.status_code == 410 and r.json()["code"] == "link_used"
    r = await _browser(api).post("/api/v1/invitations/accept", json={
        "token": "zl_" + "x" * 43, "password": PASSWORD})
    assert r.status_code == 400 and r.json()["code"] == "link_invalid"


async def test_existing_person_joins_with_their_password(api: Api) -> None:
    first = (await api.post("/api/v1/invitations", json={"email": "p@x.io"})).json()
    await _browser(api).post("/api/v1/invitations/accept", json={"token": first["token"],
                                                                 "password": PASSWORD})
    second_ws = (await api.post("/api/v1/workspaces", json={"name": "Second"})).json()["id"]
    hub = api.app.state.hub
    me = await identity.authenticate(hub, api.token)
    there = identity.Principal(second_ws, me.user_id, "owner")
    inv = await invites.invite(hub, actor=there, email="P@x.io", role="viewer")
    browser = _browser(api)
    r = await browser.post("/api/v1/invitations/accept", json={"token": inv["token"],
                                                               "password": "wrong password!"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_credentials"
    r = await browser.post("/api/v1/invitations/accept", json={"token": inv["token"],
                                                               "password": PASSWORD})
    assert r.status_code == 200 and r.json()["workspace_id"] == second_ws
    spaces = (await browser.get("/api/v1/workspaces")).json()
    assert [(w["name"], w["role"], w["current"]) for w in spaces] == [
        ("Default", "viewer", False), ("Second", "viewer", True)]


async def test_password_reset_link(api: Api) -> None:
    inv = (await api.post("/api/v1/invitations", json={"email": "r@x.io"})).json()
    browser = _browser(api)
    await browser.post("/api/v1/invitations/accept", json={"token": inv["token"],
                                                           "password": PASSWORD})
    user_id = (await browser.get("/api/v1/auth/me")).json()["user"]["id"]
    link = (await api.post(f"/api/v1/users/{user_id}/password-reset")).json()
    assert link["link"].endswith(f"/reset-password?token={link['token']}")
    r = await _browser(api).post("/api/v1/auth/password-reset", json={
        "token": link["token"], "password": "the new password"})
    assert r.status_code == 204
    assert (await browser.get("/api/v1/auth/me")).status_code == 401  # sessions ended
    r = await _browser(api).post("/api/v1/auth/login", json={"email": "r@x.io",
                                                             "password": "the new password"})
    assert r.status_code == 200
    r = await _browser(api).post("/api/v1/auth/password-reset", json={
        "token": link["token"], "password": "another password"})
    assert r.status_code == 410 and r.json()["code"] == "link_used"
    r = await _browser(api).post("/api/v1/auth/password-reset", json={
        "token": inv["token"], "password": "another password"})  # not a reset link
    assert r.status_code == 400 and r.json()["code"] == "link_invalid"
    viewer = (await api.post("/api/v1/users", json={"email": "v@x.io"})).json()
    r = await api.post(f"/api/v1/users/{user_id}/password-reset", token=viewer["token"])
    assert r.status_code == 403


async def test_workspaces_create_rename_list(api: Api) -> None:
    r = await api.post("/api/v1/workspaces", json={"name": "Team B"})
    assert r.status_code == 201 and r.json()["role"] == "owner"
    names = [w["name"] for w in (await api.get("/api/v1/workspaces")).json()]
    assert names == ["Default", "Team B"]
    r = await api.client.patch("/api/v1/workspace", json={"name": "Main"}, headers=api.auth())
    assert r.status_code == 200
    assert (await api.get("/api/v1/workspaces")).json()[0]["name"] == "Main"
    editor = (await api.post("/api/v1/users", json={"email": "e@x.io", "role": "editor"})).json()
    r = await api.client.patch("/api/v1/workspace", json={"name": "Mine"},
                               headers=api.auth(editor["token"]))
    assert r.status_code == 403
    for body in ({"name": ""}, {"name": "x" * 201}, {}):
        assert (await api.post("/api/v1/workspaces", json=body)).status_code == 422
    assert {"workspace.created", "workspace.renamed"} <= set(await _actions(api))


async def test_membership_changes_are_audited(api: Api) -> None:
    user = (await api.post("/api/v1/users", json={"email": "m@x.io", "role": "viewer"})).json()
    r = await api.client.patch(f"/api/v1/users/{user['id']}", json={"role": "approver"},
                               headers=api.auth())
    assert r.status_code == 200 and r.json()["role"] == "approver"
    assert (await api.delete(f"/api/v1/users/{user['id']}")).status_code == 204
    assert (await api.get("/api/v1/me", token=user["token"])).status_code == 401
    actions = await _actions(api)
    assert {"member.added", "member.role_changed", "member.removed"} <= set(actions)
