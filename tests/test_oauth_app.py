"""OAuth2 end to end through the real app (lifespan, worker, routes) against the loopback
OAuth2 server of test_oauth, refresh failures that must stay retryable, and two hubs on one
database racing to refresh."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlparse

import httpx
import pytest
import test_oauth
from test_engine import finish, start
from test_oauth import CLIENT_ID, CLIENT_SECRET, Provider, _connector

from hub import hookimpl
from hub.context import Hub
from hub.errors import StepError
from hub.oauth import access_token
from hub.plugins import create_plugin_manager
from hub.sdk import OAuth2
from hub.services import connections
from hub.settings import Settings
from hub.testing.people import owner_token
from hub.web.app import create_app

server, provider = test_oauth.server, test_oauth.provider  # shared fixtures
STEP = {"id": "me", "use": "acme.whoami", "connection": "acme-main"}


def _pm(settings: Settings, provider: Provider) -> Any:
    acme = _connector(provider)

    class Plugin:
        @staticmethod
        @hookimpl
        def register_connectors(register: Any) -> None:
            register(acme)

    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(Plugin(), name="oauth_acme")
    return pm


def _settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"egress_allow": "127.0.0.1/32", "poll_interval": 0.05,
                                       "public_url": "http://hub.test"})


@pytest.fixture
async def client(settings: Settings, provider: Provider) -> AsyncIterator[httpx.AsyncClient]:
    test_oauth.PROVIDER = provider
    settings = _settings(settings)
    app = create_app(settings, on_setup_token=lambda tok, _s: None,
                     pm=_pm(settings, provider))
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as c:
        c.headers["Authorization"] = f"Bearer {await owner_token(app.state.hub)}"
        c.hub = app.state.hub  # type: ignore[attr-defined]
        yield c


async def _authorize(c: httpx.AsyncClient, name: str, accept: str) -> httpx.Response:
    r = await c.post("/api/v1/oauth/start", json={
        "connector": "acme", "name": name, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET})
    assert r.status_code == 200, r.text
    async with httpx.AsyncClient() as browser:  # the user's browser at the provider
        back = (await browser.get(r.json()["authorize_url"])).headers["location"]
    assert urlparse(back).path == "/oauth/callback"
    return await c.get(back.removeprefix("http://hub.test"),
                       headers={"Authorization": "", "Accept": accept})


async def _run(c: httpx.AsyncClient, zap_id: str) -> dict[str, Any]:
    r = await c.post(f"/api/v1/zaps/{zap_id}/runs?wait=20", json={"input": {}})
    assert r.status_code == 200, r.text
    return r.json()


async def _expire(c: httpx.AsyncClient, name: str) -> None:
    hub: Hub = c.hub  # type: ignore[attr-defined]
    ws = (await c.get("/api/v1/me")).json()["workspace_id"]
    cid = next(x["id"] for x in await connections.list_connections(hub, workspace_id=ws)
               if x["name"] == name)
    await connections.update_secrets(hub, workspace_id=ws, connection_id=cid,
                                     values={"expires_at": time.time() + 5})


async def test_oauth2_end_to_end_through_the_app(client: httpx.AsyncClient,
                                                 provider: Provider) -> None:
    page = await _authorize(client, "acme-main", "text/html,application/xhtml+xml")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "connected; you can close this window" in page.text and "acme-main" in page.text
    as_json = await _authorize(client, "acme-other", "application/json")
    assert as_json.json()["name"] == "acme-other" and as_json.json()["status"] == "active"
    for resp in (page, as_json):
        assert CLIENT_SECRET not in resp.text
        assert not any(t in resp.text for t in provider.access | provider.refresh)
    zap = (await client.post("/api/v1/zaps", json={
        "name": "who", "trigger": {"kind": "manual"}, "steps": [STEP]})).json()
    run = await _run(client, zap["id"])
    assert run["status"] == "succeeded" and run["result"] == {"user": "ada"}, run
    assert provider.refreshes == 0
    # the token is about to expire: concurrent runs refresh it once
    await _expire(client, "acme-main")
    runs = await asyncio.gather(*(_run(client, zap["id"]) for _ in range(6)))
    assert [r["status"] for r in runs] == ["succeeded"] * 6
    assert provider.refreshes == 1
    # the user revoked the app: the refresh token no longer works
    provider.access.clear()
    provider.refresh.clear()
    run = await _run(client, zap["id"])
    assert run["status"] == "failed" and run["steps"][-1]["error"]["code"] == "needs_reauth"
    listed = {x["name"]: x["status"] for x in (await client.get("/api/v1/connections")).json()}
    assert listed == {"acme-main": "needs_reauth", "acme-other": "active"}
    refreshes = provider.refreshes
    run = await _run(client, zap["id"])
    assert run["status"] == "failed" and run["steps"][-1]["error"]["code"] == "needs_reauth"
    assert provider.refreshes == refreshes  # no further refresh attempts
    assert CLIENT_SECRET not in str(run)


@pytest.fixture
async def hub(settings: Settings, provider: Provider) -> AsyncIterator[Hub]:
    test_oauth.PROVIDER = provider
    settings = _settings(settings)
    h = await Hub.open(settings, pm=_pm(settings, provider))
    try:
        yield h
    finally:
        await h.close()


async def _connected(hub: Hub, ws: str, provider: Provider, expires_in: float) -> str:
    tokens = provider._issue()
    made = await connections.create_connection(hub, workspace_id=ws, connector="acme",
                                               name="acme-main", values={
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"],
        "expires_at": time.time() + expires_in})
    return made["id"]


async def test_provider_5xx_is_a_retryable_refresh_failure(hub: Hub, owner: Any,
                                                           provider: Provider) -> None:
    ws = owner.workspace_id
    await _connected(hub, ws, provider, expires_in=5)
    provider.refresh_status = 503
    with pytest.raises(StepError) as err:
        await access_token(hub, workspace_id=ws, connection="acme-main")
    assert err.value.code == "oauth_refresh_failed" and err.value.retryable
    assert CLIENT_SECRET not in str(err.value)
    [conn] = await connections.list_connections(hub, workspace_id=ws)
    assert conn["status"] == "active"
    provider.refresh_status = 200  # the provider is back: the next use refreshes
    tok = await access_token(hub, workspace_id=ws, connection="acme-main")
    assert tok in provider.access and provider.refreshes == 2


async def test_unreachable_provider_is_a_retryable_refresh_failure(
        hub: Hub, owner: Any, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    ws = owner.workspace_id
    await _connected(hub, ws, provider, expires_in=5)
    acme = hub.registry.connectors["acme"]
    assert acme.oauth2 is not None
    with __import__("socket").socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setattr(acme, "oauth2", OAuth2(
        authorize_url=acme.oauth2.authorize_url, token_url=f"http://127.0.0.1:{dead}/token"))
    step = {**STEP}
    run = await finish(hub, ws, await start(hub, ws, [step], name="who"), timeout=30)
    err = run["steps"][-1]["error"]
    assert err["code"] == "oauth_refresh_failed", run
    [conn] = await connections.list_connections(hub, workspace_id=ws)
    assert conn["status"] == "active" and provider.refreshes == 0


async def test_two_hubs_on_one_database_refresh_once(hub: Hub, owner: Any, settings: Settings,
                                                     provider: Provider) -> None:
    ws = owner.workspace_id
    await _connected(hub, ws, provider, expires_in=5)
    other_settings = _settings(settings)
    other = await Hub.open(other_settings, pm=_pm(other_settings, provider))
    try:
        assert other.db is not hub.db
        calls = [access_token(h, workspace_id=ws, connection="acme-main")
                 for _ in range(5) for h in (hub, other)]
        tokens = await asyncio.wait_for(asyncio.gather(*calls), timeout=10)
    finally:
        await other.close()
    assert provider.refreshes == 1  # the rotated refresh token would fail a second refresh
    assert len(set(tokens)) == 1 and tokens[0] in provider.access
    [conn] = await connections.list_connections(hub, workspace_id=ws)
    assert conn["status"] == "active"
