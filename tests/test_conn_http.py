"""The ``http`` connector: ``http.request`` and ``http.poll_json`` against documented-shape
mocks, auth kinds, limits, errors, and the egress policy on a real loopback server."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from aiohttp import web
from connhelp import client, ctx
from hub_plugins.http.auth import HttpAuth
from hub_plugins.http.connector import Http
from hub_plugins.http.poll import PollJson
from hub_plugins.http.request import Request
from pytest_httpx import HTTPXMock

from hub import StepError
from hub.testing import check_connector

API = "https://api.example.com"


def test_contract() -> None:
    check_connector(Http)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


async def call(http: httpx.AsyncClient, creds: Any = None, **payload: Any) -> dict[str, Any]:
    out = await Request().run(Request.Input.model_validate(payload), ctx(creds, http))
    return out.model_dump()


def auth(**values: Any) -> HttpAuth:
    return HttpAuth.model_validate({"auth": values})


async def test_get_json_with_query_and_headers(httpx_mock: HTTPXMock,
                                               http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url=f"{API}/orders?status=open&limit=5",
                            match_headers={"X-Trace": "t1"},
                            json={"orders": [{"id": 1}]}, headers={"X-Rate": "10"})
    out = await call(http, url=f"{API}/orders", query={"status": "open", "limit": 5},
                     headers={"X-Trace": "t1"})
    assert out["status"] == 200 and out["body"] == {"orders": [{"id": 1}]}
    assert out["headers"]["x-rate"] == "10" and out["body_encoding"] is None


@pytest.mark.parametrize("content_type,content,body,encoding", [
    ("text/plain; charset=latin-1", "café".encode("latin-1"), "café", None),
    ("application/xml", b"<a/>", "<a/>", None),
    ("image/png", b"\x89PNG\x00", base64.b64encode(b"\x89PNG\x00").decode(), "base64"),
    ("application/problem+json", b'{"x": 1}', {"x": 1}, None),
    ("application/json", b"", None, None)])
async def test_response_parsed_by_content_type(httpx_mock: HTTPXMock, http: httpx.AsyncClient,
                                               content_type: str, content: bytes, body: Any,
                                               encoding: str | None) -> None:
    httpx_mock.add_response(url=f"{API}/x", content=content,
                            headers={"Content-Type": content_type})
    out = await call(http, url=f"{API}/x")
    assert (out["body"], out["body_encoding"]) == (body, encoding)


@pytest.mark.parametrize("fmt,body,match", [
    ("json", {"a": [1, 2]}, {"match_json": {"a": [1, 2]}}),
    ("form", {"a": "1", "b": 2}, {"match_content": b"a=1&b=2"}),
    ("text", "hello", {"match_content": b"hello",
                       "match_headers": {"Content-Type": "text/plain; charset=utf-8"}}),
    ("base64", base64.b64encode(b"\x00\x01").decode(), {"match_content": b"\x00\x01"})])
async def test_body_formats(httpx_mock: HTTPXMock, http: httpx.AsyncClient, fmt: str,
                            body: Any, match: dict[str, Any]) -> None:
    httpx_mock.add_response(method="POST", url=f"{API}/in", status_code=201, **match)
    out = await call(http, method="POST", url=f"{API}/in", body=body, body_format=fmt,
                     idempotency_header="Idempotency-Key")
    assert out["status"] == 201
    assert httpx_mock.get_request().headers["Idempotency-Key"] == "run_1:act"


@pytest.mark.parametrize("payload,message", [
    ({"body": "%%%", "body_format": "base64"}, "not valid base64"),
    ({"body": [1], "body_format": "form"}, "form body must be an object"),
    ({"url": "ftp://x/y"}, "absolute http"), ({"url": "/relative"}, "absolute http")])
async def test_bad_input(http: httpx.AsyncClient, payload: dict[str, Any], message: str) -> None:
    with pytest.raises(StepError, match=message) as info:
        await call(http, **({"url": f"{API}/x", "method": "POST"} | payload))
    assert info.value.code == "invalid_input" and not info.value.retryable


def test_header_injection_refused() -> None:
    with pytest.raises(ValueError, match="invalid value"):
        Request.Input(url=f"{API}/x", headers={"X-A": "v\r\nX-Evil: 1"})


@pytest.mark.parametrize("kind,expect", [
    ({"type": "bearer", "token": "tok1"}, {"Authorization": "Bearer tok1"}),
    ({"type": "basic", "username": "ada", "password": "pw"},
     {"Authorization": "Basic " + base64.b64encode(b"ada:pw").decode()}),
    ({"type": "api_key", "name": "X-Key", "api_key": "k1", "prefix": "Token "},
     {"X-Key": "Token k1"})])
async def test_auth_kinds(httpx_mock: HTTPXMock, http: httpx.AsyncClient,
                          kind: dict[str, Any], expect: dict[str, str]) -> None:
    httpx_mock.add_response(url=f"{API}/me", match_headers=expect, json={})
    assert (await call(http, auth(**kind), url=f"{API}/me"))["status"] == 200


async def test_api_key_in_query(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url=f"{API}/me?api_key=k2", json={})
    creds = auth(type="api_key", name="api_key", api_key="k2", location="query")
    assert (await call(http, creds, url=f"{API}/me"))["status"] == 200


async def test_client_credentials_token_cached_and_refetched_on_401(
        httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    creds = auth(type="oauth2_client_credentials", token_url="https://auth.example.com/token",
                 client_id="cid", client_secret="cs-unique-1", scope="read")
    basic = "Basic " + base64.b64encode(b"cid:cs-unique-1").decode()
    for token in ("t1", "t2"):
        httpx_mock.add_response(method="POST", url="https://auth.example.com/token",
                                match_headers={"Authorization": basic},
                                match_content=b"grant_type=client_credentials&scope=read",
                                json={"access_token": token, "token_type": "Bearer",
                                      "expires_in": 3600})
    httpx_mock.add_response(url=f"{API}/a", match_headers={"Authorization": "Bearer t1"},
                            json={"n": 1})
    httpx_mock.add_response(url=f"{API}/a", match_headers={"Authorization": "Bearer t1"},
                            json={"n": 2})
    httpx_mock.add_response(url=f"{API}/b", match_headers={"Authorization": "Bearer t1"},
                            status_code=401, json={"error": "invalid_token"})
    httpx_mock.add_response(url=f"{API}/b", match_headers={"Authorization": "Bearer t2"},
                            json={"n": 3})
    assert (await call(http, creds, url=f"{API}/a"))["body"] == {"n": 1}
    assert (await call(http, creds, url=f"{API}/a"))["body"] == {"n": 2}  # cached token
    assert (await call(http, creds, url=f"{API}/b"))["body"] == {"n": 3}
    token_calls = [r for r in httpx_mock.get_requests() if r.url.path == "/token"]
    assert len(token_calls) == 2


async def test_client_credentials_rejected(httpx_mock: HTTPXMock,
                                           http: httpx.AsyncClient) -> None:
    creds = auth(type="oauth2_client_credentials", token_url="https://auth.example.com/token",
                 client_id="cid", client_secret="cs-unique-2", client_auth="body")
    httpx_mock.add_response(method="POST", url="https://auth.example.com/token", status_code=401,
                            json={"error": "invalid_client",
                                  "error_description": "Client authentication failed"})
    with pytest.raises(StepError, match="Client authentication failed") as info:
        await call(http, creds, url=f"{API}/a")
    assert info.value.code == "invalid_auth"
    assert b"client_secret=cs-unique-2" in httpx_mock.get_request().content


async def test_base_url_keeps_credentials_there(httpx_mock: HTTPXMock,
                                                http: httpx.AsyncClient) -> None:
    creds = HttpAuth.model_validate({"auth": {"type": "bearer", "token": "t"},
                                     "base_url": f"{API}/v1"})
    httpx_mock.add_response(url=f"{API}/v1/orders/7", json={"id": 7})
    assert (await call(http, creds, url="orders/7"))["body"] == {"id": 7}
    for url in ("https://evil.example/v1/x", f"{API}/v2/x", f"{API}/v1x", "../admin",
                "https://api.example.com.evil.example/v1/"):
        with pytest.raises(StepError) as info:
            await call(http, creds, url=url)
        assert info.value.code == "url_not_allowed"


@pytest.mark.parametrize("status,headers,expected", [
    (401, {}, ("invalid_auth", False, None)), (403, {}, ("invalid_auth", False, None)),
    (404, {}, ("provider_error", False, None)), (422, {}, ("provider_error", False, None)),
    (429, {"Retry-After": "7"}, ("rate_limited", True, 7.0)),
    (500, {}, ("provider_unavailable", True, None)),
    (503, {}, ("provider_unavailable", True, None))])
async def test_status_errors(httpx_mock: HTTPXMock, http: httpx.AsyncClient, status: int,
                             headers: dict[str, str], expected: tuple[Any, ...]) -> None:
    httpx_mock.add_response(url=f"{API}/x", status_code=status, headers=headers,
                            json={"message": "Order 9 is locked"})
    with pytest.raises(StepError, match="Order 9 is locked") as info:
        await call(http, url=f"{API}/x")
    err = info.value
    assert (err.code, err.retryable, err.extra.get("retry_after")) == expected


async def test_fail_on_status_off_returns_the_answer(httpx_mock: HTTPXMock,
                                                     http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url=f"{API}/x", status_code=404, json={"message": "nope"})
    out = await call(http, url=f"{API}/x", fail_on_status=False)
    assert (out["status"], out["body"]) == (404, {"message": "nope"})


async def test_timeout_malformed_and_too_large(httpx_mock: HTTPXMock,
                                               http: httpx.AsyncClient) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), url=f"{API}/slow")
    httpx_mock.add_exception(httpx.ConnectError("refused"), url=f"{API}/down")
    httpx_mock.add_response(url=f"{API}/bad", content=b"{nope",
                            headers={"Content-Type": "application/json"})
    httpx_mock.add_response(url=f"{API}/big", content=b"x" * 2000)
    expected = {"slow": ("timeout", True), "down": ("provider_unavailable", True),
                "bad": ("invalid_response", False), "big": ("response_too_large", False)}
    for path, (code, retryable) in expected.items():
        with pytest.raises(StepError) as info:
            await call(http, url=f"{API}/{path}", max_response_bytes=1000)
        assert (info.value.code, info.value.retryable) == (code, retryable), path


def test_response_limit_bounded() -> None:
    with pytest.raises(ValueError):
        Request.Input(url=f"{API}/x", max_response_bytes=10**9)


# --- http.poll_json ---------------------------------------------------------------------------


async def test_poll_json_items_and_cursor(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    config = PollJson.Config(url=f"{API}/events", items="data.events", id_field="uid",
                             since_param="since", cursor_field="seq")
    httpx_mock.add_response(url=f"{API}/events", json={"data": {"events": [
        {"uid": "a", "seq": 1}, {"uid": "b", "seq": 2}]}})
    first = await PollJson().poll(config, None, None, http)
    assert [i["_item_id"] for i in first.items] == ["a", "b"] and first.cursor == 2
    httpx_mock.add_response(url=f"{API}/events?since=2", json={"data": {"events": [
        {"uid": "c", "seq": 3}]}})
    second = await PollJson().poll(config, None, first.cursor, http)
    assert second.items == [{"uid": "c", "seq": 3, "_item_id": "c"}] and second.cursor == 3
    httpx_mock.add_response(url=f"{API}/events?since=3", json={"data": {}})
    third = await PollJson().poll(config, None, 3, http)
    assert third.items == [] and third.cursor == 3


async def test_poll_json_bad_answers(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    config = PollJson.Config(url=f"{API}/e", items="items")
    for body in ({"items": {"a": 1}}, {"items": [{"name": "no id"}]}, {"items": [1, 2]}):
        httpx_mock.add_response(url=f"{API}/e", json=body)
        with pytest.raises(StepError) as info:
            await PollJson().poll(config, None, None, http)
        assert info.value.code == "invalid_response"
    httpx_mock.add_response(url=f"{API}/e", status_code=503)
    with pytest.raises(StepError, match="HTTP 503"):
        await PollJson().poll(config, None, None, http)


def test_poll_json_expression_checked_when_saved() -> None:
    with pytest.raises(ValueError, match="invalid expression"):
        PollJson.Config(url=f"{API}/e", items="items[")


# --- egress on a real loopback server ---------------------------------------------------------


SEEN: list[dict[str, str]] = []


@pytest.fixture
async def sink() -> AsyncIterator[str]:
    async def handle(request: web.Request) -> web.Response:
        SEEN.append({"path": request.path_qs, "key": request.headers.get("X-Key", "")})
        if request.path == "/hop":
            raise web.HTTPFound("/data")
        if request.path == "/away":  # another origin: the same server by another name
            raise web.HTTPFound(f"http://localhost:{request.url.port}/data")
        data = gzip.compress(json.dumps({"ok": True, "pad": "x" * 5000}).encode())
        return web.Response(body=data, headers={"Content-Type": "application/json",
                                                "Content-Encoding": "gzip"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_internal_address_refused_with_operator_hint(sink: str) -> None:
    async with client() as http:
        with pytest.raises(StepError) as info:
            await call(http, url=f"{sink}/data")
    assert info.value.code == "egress_denied" and not info.value.retryable
    assert "HUB_EGRESS_ALLOW=127.0.0.1/32" in info.value.message


async def test_allowed_loopback_redirect_and_decoded_limit(sink: str) -> None:
    async with client("127.0.0.1/32") as http:
        out = await call(http, url=f"{sink}/hop", follow_redirects=True)
        assert out["body"]["ok"] is True and out["url"].endswith("/data")
        with pytest.raises(StepError) as info:  # 5 KB decoded from a small gzip body
            await call(http, url=f"{sink}/data", max_response_bytes=2000)
        assert info.value.code == "response_too_large"
        out = await call(http, url=f"{sink}/hop", fail_on_status=False)
        assert out["status"] == 302
        SEEN.clear()  # an API key stays with its origin, like Authorization
        for kind in ({"location": "header"}, {"location": "query"}):
            creds = auth(type="api_key", name="X-Key", api_key="k-secret-9", **kind)
            for path in ("hop", "away"):
                await call(http, creds, url=f"{sink}/{path}", follow_redirects=True)
        assert [(s["path"], s["key"]) for s in SEEN] == [
            ("/hop", "k-secret-9"), ("/data", "k-secret-9"), ("/away", "k-secret-9"),
            ("/data", ""), ("/hop?X-Key=k-secret-9", ""), ("/data", ""),
            ("/away?X-Key=k-secret-9", ""), ("/data", "")]


async def test_step_with_a_stored_connection(hub: Any, owner: Any, httpx_mock: HTTPXMock) -> None:
    from test_engine import finish, start

    from hub.services import connections

    ws = owner.workspace_id
    await connections.create_connection(hub, workspace_id=ws, connector="http", name="crm", values={
        "auth": {"type": "bearer", "token": "crm-token-123"}, "base_url": f"{API}/v1"})
    httpx_mock.add_response(method="POST", url=f"{API}/v1/tickets",
                            match_headers={"Authorization": "Bearer crm-token-123"},
                            match_json={"subject": "hi"}, status_code=201,
                            json={"id": 5, "echo": "crm-token-123"})
    run_id = await start(hub, ws, [{"id": "open", "use": "http.request", "connection": "crm",
                                    "input": {"method": "POST", "url": "tickets",
                                              "body": {"subject": "{{ trigger.s }}"}}}],
                         data={"s": "hi"})
    run = await finish(hub, ws, run_id)
    assert run["status"] == "succeeded", run
    assert run["result"]["status"] == 201 and run["result"]["body"]["id"] == 5
    assert "crm-token-123" not in json.dumps(run)  # an API echoing the token is masked


def test_readme_connector_examples_are_valid_zaps() -> None:
    """Every zap in the README's Connectors section validates against the built-ins."""
    import re
    from pathlib import Path

    import yaml

    from hub.intake.hooks import check_trigger
    from hub.plugins import create_plugin_manager
    from hub.registry import build_registry
    from hub.settings import Settings
    from hub.zaps import compile_zap

    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = text.split("## Connectors\n", 1)[1].split("\n## ", 1)[0]
    registry = build_registry(create_plugin_manager(load_entrypoints=False, settings=Settings()))
    docs = [yaml.safe_load(b) for b in re.findall(r"```yaml\n(.*?)```", section, re.S)]
    zaps = [d for d in docs if "steps" in d]
    assert len(zaps) >= 6
    for doc in zaps:
        check_trigger(compile_zap(doc, registry).zap, registry)
    poll = next(d for d in docs if "steps" not in d)
    check_trigger(compile_zap({"name": "p", **poll, "steps": [
        {"id": "t", "use": "core.transform", "input": {"x": 1}}]}, registry).zap, registry)
