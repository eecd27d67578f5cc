"""``/api/v1`` checks the token before reading the body, caps and times the body, and looks
the token up once per request; ``/hooks`` and ``/oauth/callback`` are left alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from apiclient import Api
from serverhelp import running_api

from hub.services import identity
from hub.settings import Settings
from hub.web import apiguard, deps


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, api_max_body=4096, body_timeout=0.3)
    async with running_api(settings) as client:
        yield client


async def _raw(api: Api, path: str, headers: dict[str, str],
               receive: Any) -> tuple[int, dict[str, str], bytes]:
    """Call the app as a server would, with our own ``receive``."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "POST", "scheme": "http", "path": path, "raw_path": path.encode(),
             "query_string": b"", "root_path": "", "server": ("hub.test", 80),
             "client": ("127.0.0.1", 1), "state": {},
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await api.app(scope, receive, send)
    head = {k.decode(): v.decode() for k, v in sent[0]["headers"]}
    return sent[0]["status"], head, b"".join(m.get("body", b"") for m in sent[1:])


async def _never(*_: Any) -> dict[str, Any]:
    raise AssertionError("the body must not be read")


async def test_garbage_token_and_malformed_body_answer_401(api: Api) -> None:
    r = await api.client.post("/api/v1/zaps", content=b"{not json",
                              headers={"Authorization": "Bearer garbage",
                                       "Content-Type": "application/json"})
    assert r.status_code == 401 and r.json()["code"] == "invalid_token"
    assert r.headers["www-authenticate"] == "Bearer"


async def test_a_huge_body_without_a_token_is_never_read(api: Api) -> None:
    status, _, body = await _raw(api, "/api/v1/zaps", {"content-length": "30000000"}, _never)
    assert status == 401 and b"invalid_token" in body


async def test_a_declared_body_over_the_cap_is_refused_unread(api: Api) -> None:
    headers = {"authorization": f"Bearer {api.token}", "content-length": "5000",
               "content-type": "application/json"}
    status, head, body = await _raw(api, "/api/v1/zaps", headers, _never)
    assert status == 413 and b"payload_too_large" in body and head["connection"] == "close"


async def test_a_chunked_body_over_the_cap_is_cut_off(api: Api) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000

    r = await api.client.post("/api/v1/zaps", content=chunks(),
                              headers={**api.auth(), "Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    assert "HUB_API_MAX_BODY" in r.json()["detail"]


async def test_a_stalled_body_gets_408(api: Api) -> None:
    async def stall() -> dict[str, Any]:
        await asyncio.sleep(30)
        return {}

    headers = {"authorization": f"Bearer {api.token}", "content-length": "100"}
    status, _, body = await _raw(api, "/api/v1/zaps", headers, stall)
    assert status == 408 and b"request_timeout" in body


async def test_the_token_is_looked_up_once_per_request(api: Api,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str | None] = []

    async def counting(hub: Any, token: str | None) -> identity.Principal:
        calls.append(token)
        return await identity.authenticate(hub, token)

    async def refuse(hub: Any, token: str | None) -> identity.Principal:
        raise AssertionError("looked up a second time")

    monkeypatch.setattr(apiguard, "authenticate", counting)
    monkeypatch.setattr(deps, "authenticate", refuse)
    assert (await api.get("/api/v1/me")).status_code == 200
    r = await api.post("/api/v1/zaps", json={"name": "x", "trigger": {"kind": "manual"},
                                             "steps": [{"id": "a", "use": "core.transform"}]})
    assert r.status_code == 201 and calls == [api.token, api.token]


async def test_unknown_api_paths_need_a_token_too(api: Api) -> None:
    assert (await api.client.get("/api/v1/nothing")).status_code == 401
    assert (await api.get("/api/v1/nothing")).status_code == 404


async def test_hooks_and_the_oauth_callback_are_not_guarded(api: Api) -> None:
    zap = {"name": "h", "trigger": {"kind": "webhook"},
           "steps": [{"id": "a", "use": "core.transform", "input": {"b": "{{ trigger.body }}"}}]}
    zid = (await api.post("/api/v1/zaps", json=zap)).json()["id"]
    path = (await api.get(f"/api/v1/zaps/{zid}/trigger")).json()["webhook"]["path"]
    r = await api.client.post(path, json={"a": 1}, headers={"Authorization": "Bearer garbage"})
    assert r.status_code == 202
    r = await api.client.get("/oauth/callback", params={"code": "c", "state": "s"})
    assert r.status_code == 400 and r.json()["code"] == "oauth_state_invalid"
    assert (await api.client.get("/healthz")).status_code == 200
