"""/api/v1/ai over the real app: admin-only governance, validation codes, usage, metrics;
provider error mapping details."""

from __future__ import annotations

import httpx
import pytest
from apiclient import Api
from hub_plugins.anthropic import Anthropic, AnthropicConfig
from hub_plugins.openai_compat import OpenAICompatible, OpenAIConfig
from hub_plugins.openai_compat.errors import retry_after
from pytest_httpx import HTTPXMock

from hub import ModelError, ModelRequest

YAML_POLICY = b"""
candidates:
  - cloud
  - {model: onprem, max_cost_per_call: 0.5}
rules:
  - {if_categories: [email], require_tags: [on_prem]}
"""


async def test_policies_and_settings_are_admin_only(api: Api) -> None:
    editor = (await api.post("/api/v1/users", json={"email": "e@x.io", "role": "editor"})).json()
    r = await api.put("/api/v1/ai/settings", token=editor["token"],
                      json={"guardrails": {"guardrails": []}})
    assert r.status_code == 403
    r = await api.put("/api/v1/ai/policies/default", token=editor["token"],
                      json={"candidates": ["x"]})
    assert r.status_code == 403
    r = await api.put("/api/v1/ai/settings", json={"guardrails": {"guardrails": [
        {"key": "personal_data", "mode": "redact"}]}})
    assert r.status_code == 200, r.text
    got = (await api.get("/api/v1/ai/settings", token=editor["token"])).json()
    assert got["guardrails"]["guardrails"][0]["mode"] == "redact"


async def test_yaml_policy_and_models(api: Api) -> None:
    r = await api.put("/api/v1/ai/models/cloud", json={
        "provider": "openai_compat", "config": {"model": "gpt-4o-mini"}})
    assert r.status_code == 200, r.text
    r = await api.put("/api/v1/ai/policies/default", content=YAML_POLICY,
                      headers={"Content-Type": "application/yaml"})
    assert r.status_code == 200, r.text
    pol = (await api.get("/api/v1/ai/policies/default")).json()
    assert pol["candidates"][1] == {"model": "onprem", "max_cost_per_call": 0.5}
    assert [m["name"] for m in (await api.get("/api/v1/ai/models")).json()] == ["cloud"]
    providers = {p["key"] for p in (await api.get("/api/v1/ai/providers")).json()}
    assert {"openai_compat", "anthropic", "local"} <= providers
    assert (await api.delete("/api/v1/ai/policies/default")).status_code == 204
    r = await api.delete("/api/v1/ai/policies/default")
    assert r.status_code == 404 and r.json()["code"] == "policy_not_found"


@pytest.mark.parametrize(("url", "body", "code"), [
    ("/api/v1/ai/models/m", {"provider": "nope"}, "unknown_provider"),
    ("/api/v1/ai/models/m", {"provider": "openai_compat", "config": {"x": 1}}, "invalid_model"),
    ("/api/v1/ai/policies/p", {"candidates": []}, "invalid_policy"),
    ("/api/v1/ai/settings", {"guardrails": {"guardrails": [{"key": "nope", "mode": "block"}]}},
     "invalid_guardrail_policy"),
    ("/api/v1/ai/settings", {"guardrails": {"guardrails": [{"key": "personal_data",
                                                             "mode": "maybe"}]}},
     "invalid_ai_settings"),
])
async def test_bad_input_is_a_clear_4xx(api: Api, url: str, body: dict, code: str) -> None:
    r = await api.put(url, json=body)
    assert r.status_code == 422 and r.json()["code"] == code, r.text


async def test_usage_and_metrics(api: Api) -> None:
    r = await api.get("/api/v1/ai/usage", params={"group_by": "model"})
    assert r.status_code == 200
    assert r.json()["total"] == {"input_tokens": 0, "output_tokens": 0, "cost": 0.0, "calls": 0}
    r = await api.get("/api/v1/ai/usage", params={"group_by": "colour"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_filter"
    from hub.ai import usage

    hub = api.app.state.hub
    await usage.record(hub, {"workspace_id": (await api.get("/api/v1/me")).json()[
        "workspace_id"], "run_id": "run_x", "zap_id": "zap_x", "step_id": "s", "model": "m",
        "provider": "local", "outcome": "ok", "input_tokens": 3, "output_tokens": 4,
        "cost": 0.25, "latency_ms": 1.0})
    month = (await api.get("/api/v1/ai/usage", params={"period": usage.periods(
        __import__("time").time())[1], "group_by": "zap"})).json()
    assert month["groups"] == [{"zap": "zap_x", "input_tokens": 3, "output_tokens": 4,
                                "cost": 0.25, "calls": 1}]
    text = (await api.client.get("/metrics")).text
    assert 'hub_ai_cost_total{model="m",outcome="ok"' in text


def test_retry_after_forms() -> None:
    assert retry_after(httpx.Headers({"retry-after": "12"})) == 12.0
    assert retry_after(httpx.Headers({"retry-after-ms": "1500"})) == 1.5
    assert retry_after(httpx.Headers({})) is None


async def test_provider_timeout_and_malformed(httpx_mock: HTTPXMock) -> None:
    conf = OpenAIConfig(model="m", base_url="https://llm.example/v1")
    req = ModelRequest(messages=[{"role": "user", "content": "hi"}])
    httpx_mock.add_exception(httpx.ReadTimeout("slow"))
    httpx_mock.add_response(json={"choices": []})
    async with httpx.AsyncClient() as http:
        with pytest.raises(ModelError) as exc:
            await OpenAICompatible().call(req, config=conf, api_key=None, http=http)
        assert exc.value.code == "timeout" and exc.value.retryable
        with pytest.raises(ModelError) as exc:
            await OpenAICompatible().call(req, config=conf, api_key=None, http=http)
        assert exc.value.code == "invalid_response"


async def test_anthropic_error_shapes(httpx_mock: HTTPXMock) -> None:
    conf = AnthropicConfig(model="c", base_url="https://a.example")
    req = ModelRequest(messages=[{"role": "user", "content": "hi"}])
    cases = [(429, "rate_limit_error", "Number of requests exceeded", "rate_limited"),
             (401, "authentication_error", "invalid x-api-key", "auth_failed"),
             (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000",
              "context_too_long")]
    for status, kind, message, _ in cases:
        httpx_mock.add_response(status_code=status, headers={"retry-after": "3"}, json={
            "type": "error", "error": {"type": kind, "message": message}})
    async with httpx.AsyncClient() as http:
        for *_, code in cases:
            with pytest.raises(ModelError) as exc:
                await Anthropic().call(req, config=conf, api_key="k", http=http)
            assert exc.value.code == code
            if code == "rate_limited":
                assert exc.value.retry_after == 3.0


async def test_azure_style_deployment(httpx_mock: HTTPXMock) -> None:
    conf = OpenAIConfig(model="dep1", base_url="https://res.openai.azure.example",
                        api_style="azure", api_version="2024-10-21")
    httpx_mock.add_response(
        url="https://res.openai.azure.example/openai/deployments/dep1/chat/completions"
            "?api-version=2024-10-21",
        json={"id": "x", "choices": [{"message": {"role": "assistant", "content": "ok"}}],
              "usage": {"prompt_tokens": 1, "completion_tokens": 1}})
    async with httpx.AsyncClient() as http:
        res = await OpenAICompatible().call(
            ModelRequest(messages=[{"role": "user", "content": "hi"}]), config=conf,
            api_key="azkey", http=http)
    assert res.text == "ok"
    assert httpx_mock.get_requests()[0].headers["api-key"] == "azkey"
