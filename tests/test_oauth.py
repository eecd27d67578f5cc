"""OAuth2 connections against a real OAuth2 server on loopback (uvicorn in a thread)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route
from test_engine import finish, start

from hub import Action, Connector, InvalidCredentials, StepContext, hookimpl
from hub.context import Hub
from hub.errors import StepError
from hub.oauth import access_token, oauth_refresh_leases, oauth_states
from hub.plugins import create_plugin_manager
from hub.services import connections
from hub.settings import Settings
from hub.web import problems
from hub.web.routers import oauth as oauth_router

CLIENT_ID, CLIENT_SECRET = "app-123", "app-secret-Zq81"


class Provider:
    """Issues codes (checking PKCE), tokens and refreshes; can revoke; counts refreshes."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, str]] = {}
        self.access: set[str] = set()
        self.refresh: set[str] = set()
        self.refreshes = 0
        self.expires_in = 3600
        self.refresh_status = 200  # e.g. 503: the token endpoint fails refreshes
        self.issued: list[str] = []  # every token ever handed out (log searches)
        self.port = 0

    def _issue(self) -> dict[str, Any]:
        access, refresh = "at-" + secrets.token_hex(8), "rt-" + secrets.token_hex(8)
        self.access.add(access)
        self.issued += [access, refresh]
        self.refresh.add(refresh)
        return {"access_token": access, "refresh_token": refresh, "token_type": "Bearer",
                "expires_in": self.expires_in}

    async def authorize(self, request: Request) -> RedirectResponse:
        q = request.query_params
        assert q["code_challenge_method"] == "S256" and q["client_id"] == CLIENT_ID
        code = secrets.token_hex(8)
        self.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
        query = urlencode({"code": code, "state": q["state"]})
        return RedirectResponse(f"{q['redirect_uri']}?{query}")

    async def token(self, request: Request) -> JSONResponse:
        form = await request.form()
        if (form.get("client_id"), form.get("client_secret")) != (CLIENT_ID, CLIENT_SECRET):
            return JSONResponse({"error": "invalid_client"}, 401)
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier", ""))
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if grant is None or digest.rstrip(b"=").decode() != grant["challenge"] \
                    or form.get("redirect_uri") != grant["redirect_uri"]:
                return JSONResponse({"error": "invalid_grant"}, 400)
            return JSONResponse(self._issue())
        if form.get("grant_type") == "refresh_token":
            self.refreshes += 1
            if self.refresh_status != 200:
                return JSONResponse({"error": "temporarily_unavailable"}, self.refresh_status)
            if str(form.get("refresh_token")) not in self.refresh:
                return JSONResponse({"error": "invalid_grant"}, 400)
            self.refresh.discard(str(form.get("refresh_token")))  # rotation
            return JSONResponse(self._issue())
        return JSONResponse({"error": "unsupported_grant_type"}, 400)

    async def me(self, request: Request) -> JSONResponse:
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if token not in self.access:
            return JSONResponse({"error": "invalid_token"}, 401)
        return JSONResponse({"user": "ada"})

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture(scope="module")
def server() -> Iterator[Provider]:
    provider = Provider()
    app = Starlette(routes=[Route("/authorize", provider.authorize),
                            Route("/token", provider.token, methods=["POST"]),
                            Route("/me", provider.me)])
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                        lifespan="off"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        assert time.monotonic() < deadline, "OAuth2 test server did not start"
        time.sleep(0.01)
    provider.port = srv.servers[0].sockets[0].getsockname()[1]
    yield provider
    srv.should_exit = True
    thread.join(5)


@pytest.fixture
def provider(server: Provider) -> Provider:
    server.codes.clear()
    server.access.clear()
    server.refresh.clear()
    server.issued.clear()
    server.refreshes, server.expires_in, server.refresh_status = 0, 3600, 200
    return server


class WhoOut(BaseModel):
    user: str


class WhoAmI(Action):
    key = "whoami"
    title = "Who am I"
    Output = WhoOut

    async def run(self, payload: Any, ctx: StepContext) -> WhoOut:
        assert ctx.http is not None and ctx.oauth is not None
        r = await ctx.http.get(PROVIDER.url("/me"), auth=ctx.oauth)
        r.raise_for_status()
        return WhoOut(**r.json())


PROVIDER = Provider()  # replaced by the running server in the fixture below


def _connector(provider: Provider) -> type[Connector]:
    from hub.sdk import OAuth2, OAuth2Credentials

    class AcmeCredentials(OAuth2Credentials):
        pass

    class Acme(Connector):
        key = "acme"
        title = "Acme (OAuth2)"
        Credentials = AcmeCredentials
        hosts = ("127.0.0.1",)
        oauth2 = OAuth2(authorize_url=provider.url("/authorize"),
                        token_url=provider.url("/token"), scopes=("read", "write"))
        actions = (WhoAmI,)

        async def check(self, creds: Any, http: httpx.AsyncClient) -> None:
            r = await http.get(provider.url("/me"), headers={
                "Authorization": f"Bearer {creds.access_token.get_secret_value()}"})
            if r.status_code != 200:
                raise InvalidCredentials("token rejected")

    return Acme


@pytest.fixture
async def hub(settings: Settings, provider: Provider) -> AsyncIterator[Hub]:
    global PROVIDER
    PROVIDER = provider
    acme = _connector(provider)

    class Plugin:
        @staticmethod
        @hookimpl
        def register_connectors(register: Any) -> None:
            register(acme)

    settings = settings.model_copy(update={"egress_allow": "127.0.0.1/32",
                                           "public_url": "http://hub.test"})
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(Plugin(), name="oauth_acme")
    h = await Hub.open(settings, pm=pm)
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture
async def web(hub: Hub, token: str) -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.state.hub = hub
    problems.install(app)
    app.include_router(oauth_router.router)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test",
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        yield client


async def _connect(web: httpx.AsyncClient, name: str = "acme-main") -> dict[str, Any]:
    r = await web.post("/api/v1/oauth/start", json={
        "connector": "acme", "name": name, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert r.status_code == 200, r.text
    url = r.json()["authorize_url"]
    q = parse_qs(urlparse(url).query)
    assert q["code_challenge_method"] == ["S256"] and q["scope"] == ["read write"]
    assert q["redirect_uri"] == ["http://hub.test/oauth/callback"]
    async with httpx.AsyncClient() as browser:  # the user's browser at the provider
        back = (await browser.get(url)).headers["location"]
    cb = await web.get(back.removeprefix("http://hub.test"), headers={"Authorization": ""})
    assert cb.status_code == 200, cb.text
    return {"callback": back, "connection": cb.json(), "state": q["state"][0]}


async def test_authorization_code_flow_with_pkce(hub: Hub, web: httpx.AsyncClient,
                                                 provider: Provider, owner: Any) -> None:
    done = await _connect(web)
    conn = done["connection"]
    assert conn["name"] == "acme-main" and conn["status"] == "active"
    assert CLIENT_SECRET not in str(conn)
    assert not any(t in str(conn) for t in provider.access | provider.refresh)
    creds = await connections.get_credentials(hub, workspace_id=owner.workspace_id,
                                              name="acme-main")
    assert creds.access_token.get_secret_value() in provider.access
    # a state is single use
    again = await web.get(done["callback"].removeprefix("http://hub.test"))
    assert again.status_code == 400 and again.json()["code"] == "oauth_state_invalid"
    async with hub.db.read() as c:  # nothing readable is left behind
        assert (await c.execute(sa.select(sa.func.count()).select_from(oauth_states))).scalar() == 0


async def test_bad_requests(hub: Hub, web: httpx.AsyncClient, provider: Provider) -> None:
    base = {"name": "x", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    r = await web.post("/api/v1/oauth/start", json={**base, "connector": "nope"})
    assert r.status_code == 404 and r.json()["code"] == "connector_not_found"
    r = await web.post("/api/v1/oauth/start", json={**base, "connector": "core"})
    assert r.status_code in (400, 404) and r.json()["code"] in ("oauth_not_supported",
                                                                "connector_not_found")
    r = await web.get("/oauth/callback?error=access_denied&state=x")
    assert r.status_code == 400 and r.json()["code"] == "oauth_denied"
    r = await web.get("/oauth/callback?code=abc&state=forged")
    assert r.status_code == 400 and r.json()["code"] == "oauth_state_invalid"
    r = await web.post("/api/v1/oauth/start", json={**base, "connector": "acme"},
                       headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    # an expired state
    r = await web.post("/api/v1/oauth/start", json={**base, "connector": "acme"})
    state = r.json()["state"]
    async with hub.db.write() as c:
        await c.execute(oauth_states.update().values(expires_at=time.time() - 1))
    r = await web.get(f"/oauth/callback?code=abc&state={state}")
    assert r.status_code == 400 and r.json()["code"] == "oauth_state_expired"
    assert CLIENT_SECRET not in r.text


async def test_refresh_before_expiry_happens_once(hub: Hub, web: httpx.AsyncClient,
                                                  provider: Provider, owner: Any) -> None:
    provider.expires_in = 30  # inside the 60 s margin: the next use refreshes
    await _connect(web)
    first = next(iter(provider.access))
    provider.expires_in = 3600
    tokens = await asyncio.gather(*(access_token(hub, workspace_id=owner.workspace_id,
                                                 connection="acme-main") for _ in range(10)))
    assert provider.refreshes == 1
    assert len(set(tokens)) == 1 and tokens[0] != first and tokens[0] in provider.access


async def test_401_refreshes_and_retries_in_a_run(hub: Hub, web: httpx.AsyncClient,
                                                  provider: Provider, owner: Any) -> None:
    await _connect(web)
    provider.access.clear()  # the provider revoked the access token early
    ws = owner.workspace_id
    step = {"id": "me", "use": "acme.whoami", "connection": "acme-main"}
    run = await finish(hub, ws, await start(hub, ws, [step], name="who"))
    assert run["status"] == "succeeded", run
    assert run["result"] == {"user": "ada"} and provider.refreshes == 1


async def test_rejected_refresh_marks_needs_reauth(hub: Hub, web: httpx.AsyncClient,
                                                   provider: Provider, owner: Any) -> None:
    await _connect(web)
    provider.access.clear()
    provider.refresh.clear()  # the user revoked the app at the provider
    ws = owner.workspace_id
    step = {"id": "me", "use": "acme.whoami", "connection": "acme-main"}
    run = await finish(hub, ws, await start(hub, ws, [step], name="who"))
    assert run["status"] == "failed" and run["steps"][-1]["error"]["code"] == "needs_reauth"
    listed = await connections.list_connections(hub, workspace_id=ws)
    assert listed[0]["status"] == "needs_reauth"
    run = await finish(hub, ws, await start(hub, ws, [step], name="who2"))
    assert run["steps"][-1]["error"]["code"] == "needs_reauth"
    assert CLIENT_SECRET not in str(run)
    # authorising again restores it
    await _connect(web)
    run = await finish(hub, ws, await start(hub, ws, [step], name="who3"))
    assert run["status"] == "succeeded"


async def test_other_process_refreshing_is_waited_for(hub: Hub, web: httpx.AsyncClient,
                                                      provider: Provider, owner: Any) -> None:
    provider.expires_in = 10
    done = await _connect(web)
    ws, cid = owner.workspace_id, done["connection"]["id"]
    async with hub.db.write() as c:  # another process holds the refresh lease
        await c.execute(oauth_refresh_leases.insert().values(
            connection_id=cid, workspace_id=ws, holder="lease_other",
            expires_at=time.time() + 30))

    async def other_process() -> None:
        await asyncio.sleep(0.2)
        await connections.update_secrets(hub, workspace_id=ws, connection_id=cid, values={
            "access_token": "at-from-other", "expires_at": time.time() + 3600})
        async with hub.db.write() as c:
            await c.execute(oauth_refresh_leases.update().values(expires_at=0.0))

    task = asyncio.create_task(other_process())
    tok = await access_token(hub, workspace_id=ws, connection="acme-main")
    await task
    assert tok == "at-from-other" and provider.refreshes == 0


async def test_no_refresh_token_needs_reauth(hub: Hub, web: httpx.AsyncClient,
                                             provider: Provider, owner: Any) -> None:
    done = await _connect(web)
    ws = owner.workspace_id
    await connections.update_secrets(hub, workspace_id=ws, connection_id=done["connection"]["id"],
                                     values={"refresh_token": None, "expires_at": time.time()})
    with pytest.raises(StepError) as err:
        await access_token(hub, workspace_id=ws, connection="acme-main")
    assert err.value.code == "needs_reauth"
