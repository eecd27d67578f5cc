"""Safe egress: real servers on loopback, both transports, redirects, connector hosts."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from pydantic import BaseModel, Field
from test_engine import finish, start

from hub import Action, Connector, StepContext, hookimpl
from hub.context import Hub
from hub.egress import EgressClient, EgressDenied, EgressPolicy, create_client, is_internal
from hub.errors import HubError
from hub.plugins import create_plugin_manager
from hub.settings import Settings

BACKENDS = ["aiohttp", "httpcore"]


class Sink:
    """A real HTTP server on 127.0.0.1 that records every path it serves."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.auth: list[str | None] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request.path)
        self.auth.append(request.headers.get("Authorization"))
        body = await request.read()
        if request.path.startswith("/to/"):  # /to/<url>: redirect there
            raise web.HTTPFound(request.path_qs[4:])
        if request.path == "/loop":
            raise web.HTTPFound("/loop")
        return web.json_response({"path": request.path, "len": len(body),
                                  "host": request.headers.get("Host")})

    def url(self, path: str = "/ok", host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def sink() -> AsyncIterator[Sink]:
    s = Sink()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", s.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    s.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield s
    finally:
        await runner.cleanup()


async def _client(allow: str | None, backend: str) -> EgressClient:
    return create_client(EgressPolicy.parse(allow), backend=backend)  # type: ignore[arg-type]


@pytest.mark.parametrize("backend", BACKENDS)
async def test_loopback_blocked_by_default_and_opened_by_allow_list(sink: Sink,
                                                                    backend: str) -> None:
    client = await _client(None, backend)
    try:
        for url in (sink.url(), sink.url(host="localhost"), sink.url(host="[::1]"),
                    sink.url(host="[::ffff:127.0.0.1]"), "http://169.254.169.254/latest/meta-data",
                    "http://[fd00:ec2::254]/", "http://10.1.2.3/", "http://0.0.0.0/",
                    "http://100.64.0.1/", "http://224.0.0.1/"):
            with pytest.raises(EgressDenied) as err:
                await client.get(url)
            assert err.value.code == "egress_denied" and err.value.retryable is False
        assert sink.seen == []
    finally:
        await client.aclose()
    for allow, host in (("127.0.0.1/32", "127.0.0.1"), ("localhost", "localhost"),
                        ("10.0.0.0/8, 127.0.0.0/8", "localhost")):
        client = await _client(allow, backend)
        try:
            r = await client.post(sink.url(host=host), content=b"x" * 1024)
            assert r.status_code == 200 and r.json()["len"] == 1024
        finally:
            await client.aclose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_redirect_from_allowed_host_to_loopback_is_blocked(sink: Sink,
                                                                 backend: str) -> None:
    # "localhost" is opened by name only; the redirect target 127.0.0.1 is not opened.
    client = await _client("localhost", backend)
    try:
        target = sink.url("/ok")
        with pytest.raises(EgressDenied):
            await client.get(sink.url(f"/to/{target}", host="localhost"),
                             follow_redirects=True)
        assert sink.seen == [f"/to/{target}"]  # the first hop happened, the second did not
        r = await client.get(sink.url(f"/to/{target}", host="localhost"))
        assert r.status_code == 302  # not following is the default
    finally:
        await client.aclose()
    client = await _client("127.0.0.0/8", backend)
    try:
        r = await client.get(sink.url(f"/to/{sink.url('/ok')}"), follow_redirects=True)
        assert r.json()["path"] == "/ok" and [h.status_code for h in r.history] == [302]
        with pytest.raises(httpx.TooManyRedirects):
            await client.get(sink.url("/loop"), follow_redirects=True)
        assert sink.seen.count("/loop") == 11  # the first request and 10 redirects
        with pytest.raises(EgressDenied):
            await client.get(sink.url("/to/file:///etc/passwd"), follow_redirects=True)
    finally:
        await client.aclose()


async def test_redirect_drops_authorization_across_origins(sink: Sink) -> None:
    client = await _client("127.0.0.0/8, localhost", "aiohttp")
    try:
        r = await client.get(sink.url(f"/to/{sink.url('/ok', host='localhost')}"),
                             headers={"Authorization": "Bearer s3cr3t"}, follow_redirects=True)
        assert r.status_code == 200 and sink.auth == ["Bearer s3cr3t", None]
    finally:
        await client.aclose()


@pytest.mark.parametrize("backend", BACKENDS)
async def test_connector_hosts_view(sink: Sink, backend: str) -> None:
    client = await _client("127.0.0.0/8, localhost", backend)
    try:
        view = client.for_hosts(("*.example.com",))
        assert client.for_hosts(("*.example.com",)) is view and client.for_hosts(()) is client
        with pytest.raises(EgressDenied, match="connector's hosts"):
            await view.get(sink.url())
        ok = client.for_hosts(("localhost",))
        assert (await ok.get(sink.url(host="localhost"))).status_code == 200
        with pytest.raises(EgressDenied):  # a redirect leaving the declared hosts
            await ok.get(sink.url(f"/to/{sink.url()}", host="localhost"),
                         follow_redirects=True)
        await view.aclose()  # a view never closes the shared connections
        assert (await client.get(sink.url())).status_code == 200
    finally:
        await client.aclose()


@pytest.mark.parametrize("address,internal", [
    ("127.0.0.1", True), ("10.0.0.1", True), ("172.16.5.4", True), ("192.168.1.1", True),
    ("169.254.169.254", True), ("100.64.1.1", True), ("0.0.0.0", True), ("224.0.0.251", True),
    ("255.255.255.255", True), ("::1", True), ("::", True), ("fe80::1", True), ("fc00::1", True),
    ("::ffff:10.0.0.1", True), ("2002:7f00:1::", True), ("64:ff9b::a00:1", True),
    ("ff02::1", True), ("8.8.8.8", False), ("2606:4700:4700::1111", False),
    ("::ffff:8.8.8.8", False),
])
def test_is_internal(address: str, internal: bool) -> None:
    assert is_internal(ipaddress.ip_address(address)) is internal


def test_policy_parse() -> None:
    policy = EgressPolicy.parse(" 127.0.0.1/32 ,*.corp.example, Intranet ,fd00::/8")
    assert policy.names == ("*.corp.example", "intranet")
    assert policy.name_allowed("wiki.corp.example") and not policy.name_allowed("corp.example")
    assert policy.address_allowed(ipaddress.ip_address("::ffff:127.0.0.1"))
    assert not policy.address_allowed(ipaddress.ip_address("127.0.0.2"))
    for bad in ("http://x", "a b", "1.2.3.4/99"):
        with pytest.raises(HubError) as err:
            EgressPolicy.parse(bad)
        assert err.value.code == "invalid_setting"


async def test_hub_uses_the_egress_client_and_httpx_mock_still_works(
        tmp_path, httpx_mock) -> None:  # type: ignore[no-untyped-def]
    httpx_mock.add_response(url="https://api.example.com/v1/things", json={"items": [1, 2]})
    hub = await Hub.open(Settings(data_dir=tmp_path))
    try:
        assert isinstance(hub.http, EgressClient)
        r = await hub.http.get("https://api.example.com/v1/things")
        assert r.json() == {"items": [1, 2]}
    finally:
        await hub.close()
    with pytest.raises(HubError) as err:
        await Hub.open(Settings(data_dir=tmp_path, egress_allow="not a host"))
    assert err.value.code == "invalid_setting"


# --- through the engine: a step's client is bound to its connector's hosts ------------------


class FetchInput(BaseModel):
    url: str = Field(title="URL", description="What to fetch.")


class FetchOutput(BaseModel):
    status: int


class Fetch(Action):
    key = "fetch"
    title = "Fetch a URL"
    Input = FetchInput
    Output = FetchOutput

    async def run(self, payload: FetchInput, ctx: StepContext) -> FetchOutput:
        assert ctx.http is not None
        return FetchOutput(status=(await ctx.http.get(payload.url)).status_code)


class Pinned(Connector):
    key = "pinned"
    title = "Talks only to localhost"
    hosts = ("localhost",)
    actions = (Fetch,)


class _Plugin:
    @staticmethod
    @hookimpl
    def register_connectors(register: Any) -> None:
        register(Pinned)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    settings = settings.model_copy(update={"egress_allow": "127.0.0.0/8,localhost"})
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(_Plugin(), name="egress_pinned")
    h = await Hub.open(settings, pm=pm)
    try:
        yield h
    finally:
        await h.close()


async def test_step_calls_outside_connector_hosts_fail(hub: Hub, owner: Any,
                                                       sink: Sink) -> None:
    pinned_hub = hub
    ws = owner.workspace_id
    step = {"id": "f", "use": "pinned.fetch", "input": {"url": "{{ trigger.url }}"}}
    ok = await finish(pinned_hub, ws, await start(pinned_hub, ws, [step],
                                                  {"url": sink.url(host="localhost")}, name="a"))
    assert ok["status"] == "succeeded" and ok["result"] == {"status": 200}
    bad = await finish(pinned_hub, ws, await start(pinned_hub, ws, [step],
                                                   {"url": sink.url()}, name="b"))
    assert bad["status"] == "failed"
    assert bad["steps"][-1]["error"]["code"] == "egress_denied"
    assert len(bad["steps"]) == 1  # not retried
    assert sink.seen == ["/ok"]
