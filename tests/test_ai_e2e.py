"""End to end over the real app: an OpenAI-compatible provider served on loopback, reached
through the hub's shared egress client; from the connection and model entry created with the
API to the run's recorded model, tokens and cost, the usage API and /metrics. The provider's
key must not show up anywhere the hub writes."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from aiohttp import web
from apiclient import Api

from hub.settings import Settings
from hub.testing.people import owner_token
from hub.web.app import create_app

KEY = "sk-e2e-provider-key-4f1c9a7b2d"


@dataclass
class Provider:
    """Chat completions as OpenAI documents them; the first ``limited`` calls answer 429."""

    limited: int = 0
    seen: list[dict[str, Any]] = field(default_factory=list)
    port: int = 0

    async def chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.seen.append({"auth": request.headers.get("Authorization"), "body": body})
        if len(self.seen) <= self.limited:
            return web.json_response({"error": {
                "message": "Rate limit reached for requests", "type": "requests",
                "param": None, "code": "rate_limit_exceeded"}}, status=429,
                headers={"Retry-After": "1"})
        prompt = body["messages"][-1]["content"]
        return web.json_response({
            "id": "chatcmpl-e2e", "object": "chat.completion", "created": 1700000000,
            "model": body["model"], "choices": [{
                "index": 0, "finish_reason": "stop",
                "message": {"role": "assistant", "content": f"echo: {prompt}"}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}},
            headers={"x-request-id": "req_e2e_1"})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


@pytest.fixture
async def provider() -> AsyncIterator[Provider]:
    p = Provider()
    app = web.Application()
    app.router.add_post("/v1/chat/completions", p.chat)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    p.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield p
    finally:
        await runner.cleanup()


@pytest.fixture
async def open_api(settings: Settings) -> AsyncIterator[Api]:
    """The real app, allowed to reach loopback (``egress_allow``)."""
    settings = settings.model_copy(update={"poll_interval": 0.05,
                                           "egress_allow": "127.0.0.1/32"})
    app = create_app(settings, on_setup_token=lambda tok, _s: None)
    async with app.router.lifespan_context(app):
        token = await owner_token(app.state.hub)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield Api(app, client, token)


async def configure(api: Api, provider: Provider) -> str:
    r = await api.post("/api/v1/connections", json={
        "connector": "openai_compat", "name": "llm", "values": {"api_key": KEY}})
    assert r.status_code == 201, r.text
    r = await api.put("/api/v1/ai/models/mock", json={
        "provider": "openai_compat", "connection": "llm", "tags": ["on_prem"],
        "config": {"model": "mock-1", "base_url": provider.url},
        "price_input": 0.5, "price_output": 1.5})
    assert r.status_code == 200, r.text
    r = await api.put("/api/v1/ai/policies/default", json={"candidates": ["mock"]})
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/zaps", json={
        "name": "e2e", "trigger": {"kind": "manual"}, "steps": [{
            "id": "g", "use": "ai.generate",
            "retry": {"attempts": 3, "backoff": 0.01, "jitter": False},
            "input": {"prompt": "Greet {{ trigger.name }}", "max_tokens": 64}}]})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def metric(text: str, name: str, model: str, outcome: str) -> float:
    for line in text.splitlines():
        if line.startswith(name + "{") and f'model="{model}"' in line \
                and f'outcome="{outcome}"' in line:
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name} for {model}/{outcome} not in /metrics")


async def test_ai_step_end_to_end(open_api: Api, provider: Provider,
                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    api = open_api
    provider.limited = 1  # the first call is rate limited with Retry-After: 1
    zap_id = await configure(api, provider)
    r = await api.post(f"/api/v1/zaps/{zap_id}/runs?wait=20", json={"input": {"name": "Ada"}})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "succeeded", run["error"]
    out = run["result"]
    assert out["text"] == "echo: Greet Ada" and out["model"] == "mock"
    assert out["decision"] == "answered by mock (policy 'default')"
    assert out["usage"]["input_tokens"] == 120 and out["usage"]["output_tokens"] == 30
    assert out["usage"]["cost"] == pytest.approx((120 * 0.5 + 30 * 1.5) / 1000)
    assert out["usage"]["request_id"] == "req_e2e_1"
    limited, ok = run["steps"]
    assert limited["error"]["code"] == "rate_limited" and limited["error"]["retry_in"] == 1.0
    assert ok["started_at"] - limited["finished_at"] >= 0.95
    assert [s["auth"] for s in provider.seen] == [f"Bearer {KEY}"] * 2
    assert provider.seen[1]["body"]["model"] == "mock-1"
    assert provider.seen[1]["body"]["max_tokens"] == 64

    usage = (await api.get("/api/v1/ai/usage", params={"run_id": run["id"],
                                                        "group_by": "model"})).json()
    assert usage["total"] == {"input_tokens": 120, "output_tokens": 30, "cost": 0.105,
                              "calls": 2}
    by_zap = (await api.get("/api/v1/ai/usage", params={"zap_id": zap_id})).json()
    assert by_zap["total"]["cost"] == 0.105
    text = (await api.client.get("/metrics")).text
    assert metric(text, "hub_ai_calls_total", "mock", "ok") == 1.0
    assert metric(text, "hub_ai_calls_total", "mock", "rate_limited") == 1.0
    assert metric(text, "hub_ai_input_tokens_total", "mock", "ok") == 120.0
    assert metric(text, "hub_ai_cost_total", "mock", "ok") == pytest.approx(0.105)

    detail = (await api.get(f"/api/v1/runs/{run['id']}")).text
    conn = (await api.get("/api/v1/connections/llm")).text
    models = (await api.get("/api/v1/ai/models")).text
    for where in (text, detail, conn, models, json.dumps(run), caplog.text):
        assert KEY not in where


async def test_loopback_provider_is_refused_without_egress_allow(api: Api,
                                                                 provider: Provider) -> None:
    zap_id = await configure(api, provider)
    r = await api.post(f"/api/v1/zaps/{zap_id}/runs?wait=20", json={"input": {"name": "Ada"}})
    run = r.json()
    assert run["status"] == "failed" and run["error"]["code"] == "egress_denied"
    assert len(run["steps"]) == 1 and provider.seen == []  # not retried, never reached
    assert KEY not in r.text
