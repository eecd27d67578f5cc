"""Signing in through the pages: the setup link sets the owner's password, sessions in an
HttpOnly cookie, CSRF on every form, sign-out, invitations, resets, no open redirects."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from test_ui_pages import csrf_of

from hub.settings import Settings
from hub.web.app import create_app

PASSWORD = "correct horse battery"


@pytest.fixture
async def site(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, str]]:
    """A browser-like client (keeps cookies) and the setup link's token."""
    links: list[str] = []
    app = create_app(settings.model_copy(update={"poll_interval": 0.05}),
                     on_setup_token=lambda tok, _s: links.append(tok))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test",
                                     headers={"Accept": "text/html"}) as client:
            yield client, links[0]


async def _setup(client: httpx.AsyncClient, token: str) -> httpx.Response:
    page = await client.get(f"/setup?token={token}")
    assert page.status_code == 200 and 'name="password"' in page.text
    return await client.post("/setup", data={"token": token, "email": "boss@example.test",
                                             "name": "Boss", "password": PASSWORD})


async def test_setup_sign_out_and_in(site: tuple[httpx.AsyncClient, str]) -> None:
    client, token = site
    done = await _setup(client, token)
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    assert "zh_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    home = await client.get("/")
    assert home.status_code == 200 and "boss@example.test" in home.text
    again = await _setup(client, token)
    assert again.status_code == 410 and "link_used" in again.text
    forged = await client.post("/sign-out", data={})
    assert forged.status_code == 403 and "csrf_failed" in forged.text
    out = await client.post("/sign-out", data={"csrf_token": csrf_of(home.text)})
    assert out.status_code == 303
    assert (await client.get("/")).status_code == 303
    wrong = await client.post("/sign-in", data={"email": "boss@example.test",
                                                "password": "not the password", "next": "/"})
    assert wrong.status_code == 401 and 'role="alert"' in wrong.text
    ok = await client.post("/sign-in", data={"email": "boss@example.test",
                                             "password": PASSWORD, "next": "//evil.test/x"})
    assert ok.status_code == 303 and ok.headers["location"] == "/"
    ok = await client.post("/sign-in", data={"email": "boss@example.test",
                                             "password": PASSWORD, "next": "/runs"})
    assert ok.headers["location"] == "/runs"
    foreign = await client.post("/sign-in", headers={"Origin": "http://evil.test"},
                                data={"email": "boss@example.test", "password": PASSWORD})
    assert foreign.status_code == 403


async def test_invitation_and_reset_pages(site: tuple[httpx.AsyncClient, str]) -> None:
    client, token = site
    await _setup(client, token)
    me = await client.get("/api/v1/auth/me")
    header = {"X-CSRF-Token": me.json()["csrf_token"]}
    made = await client.post("/api/v1/invitations", headers=header,
                             json={"email": "new@example.test", "role": "approver"})
    assert made.status_code == 201, made.text
    invite = re.search(r"token=([^&]+)", made.json()["link"]).group(1)
    reset = await client.post(f"/api/v1/users/{me.json()['user']['id']}/password-reset",
                              headers=header)
    assert reset.status_code == 201, reset.text
    client.cookies.clear()
    page = await client.get(f"/invite?token={invite}")
    assert page.status_code == 200
    short = await client.post("/invite", data={"token": invite, "password": "short"})
    assert short.status_code == 400 and "10 characters" in short.text
    joined = await client.post("/invite", data={"token": invite, "password": PASSWORD,
                                                "name": "New"})
    assert joined.status_code == 303
    home = await client.get("/")
    assert "new@example.test" in home.text and "approver" in home.text
    assert 'href="/zaps/new"' not in home.text
    client.cookies.clear()
    changed = await client.post("/reset-password", data={"token": reset.json()["token"],
                                                         "password": "a brand new passphrase"})
    assert changed.status_code == 303 and changed.headers["location"] == "/sign-in?reset=1"


async def test_workspace_switcher(site: tuple[httpx.AsyncClient, str]) -> None:
    client, token = site
    await _setup(client, token)
    me = await client.get("/api/v1/auth/me")
    made = await client.post("/api/v1/workspaces", json={"name": "Second"},
                             headers={"X-CSRF-Token": me.json()["csrf_token"]})
    assert made.status_code == 201, made.text
    home = await client.get("/")
    assert 'id="ws-switch"' in home.text and ">Second (owner)</option>" in home.text
    switched = await client.post("/workspace", data={
        "csrf_token": csrf_of(home.text), "workspace_id": made.json()["id"]})
    assert switched.status_code == 303
    now = await client.get("/api/v1/auth/me")
    assert now.json()["workspace_id"] == made.json()["id"]
    refused = await client.post("/workspace", data={
        "csrf_token": csrf_of(home.text), "workspace_id": "ws_nope"})
    assert refused.status_code in (403, 404) and 'role="alert"' in refused.text
