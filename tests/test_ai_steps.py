"""AI steps through the engine: routing with recorded fallback, provider errors, guardrails,
budgets and accounting, on both backends. Providers are mocked at the HTTP layer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpx import HTTPXMock

from hub.ai import config as aiconf
from hub.ai import usage as aiusage
from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc

OPENAI = "https://api.openai.example/v1"
ANTHROPIC = "https://api.anthropic.example"


def chat_body(text: str, tin: int = 12, tout: int = 5) -> dict[str, Any]:
    """An OpenAI chat completion, as documented."""
    return {"id": "chatcmpl-123", "object": "chat.completion", "created": 1700000000,
            "model": "gpt-4o-mini", "choices": [{"index": 0, "finish_reason": "stop",
                                                 "message": {"role": "assistant",
                                                             "content": text}}],
            "usage": {"prompt_tokens": tin, "completion_tokens": tout,
                      "total_tokens": tin + tout}}


def anthropic_body(text: str) -> dict[str, Any]:
    return {"id": "msg_01", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [{"type": "text", "text": text}], "stop_reason": "end_turn",
            "usage": {"input_tokens": 20, "output_tokens": 7}}


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


async def setup_models(hub: Hub, ws: str) -> None:
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "cloud", "provider": "openai_compat", "tags": ["cloud"],
        "config": {"model": "gpt-4o-mini", "base_url": OPENAI},
        "price_input": 1.0, "price_output": 2.0})
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "onprem", "provider": "openai_compat", "tags": ["on_prem"],
        "config": {"model": "llama3", "base_url": "http://llm.internal.example/v1"}})
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "minilm", "provider": "local"})
    await aiconf.put_policy(hub, workspace_id=ws, data={
        "name": "default", "candidates": ["cloud", "onprem"],
        "rules": [{"if_categories": ["email"], "require_tags": ["on_prem"]}]})


async def run_zap(hub: Hub, ws: str, steps: list[dict[str, Any]], data: Any = None,
                  name: str = "z") -> dict[str, Any]:
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document={
        "name": name, "trigger": {"kind": "manual"}, "steps": steps})
    run = await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data=data or {})
    await Worker(hub, poll_interval=0.01).run_until_idle(20)
    return await runs_svc.get_run(hub, workspace_id=ws, run_id=run["id"])


def gen(prompt: str = "Say hi to {{ trigger.name }}", **extra: Any) -> dict[str, Any]:
    return {"id": "g", "use": "ai.generate", "input": {"prompt": prompt, **extra}}


def sent(httpx_mock: HTTPXMock) -> list[dict[str, Any]]:
    return [json.loads(r.content) for r in httpx_mock.get_requests()]


async def test_generate_records_model_usage_and_cost(hub: Hub, ws: str,
                                                     httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=f"{OPENAI}/chat/completions", json=chat_body("Hi Ada!", 1000, 500),
                            headers={"x-request-id": "req_abc"})
    run = await run_zap(hub, ws, [gen()], {"name": "Ada"})
    assert run["status"] == "succeeded", run["error"]
    out = run["result"]
    assert out["text"] == "Hi Ada!" and out["model"] == "cloud"
    assert out["decision"] == "answered by cloud (policy 'default')"
    assert out["usage"]["input_tokens"] == 1000 and out["usage"]["output_tokens"] == 500
    assert out["usage"]["cost"] == pytest.approx(2.0) and out["usage"]["request_id"] == "req_abc"
    assert sent(httpx_mock)[0]["messages"][-1]["content"] == "Say hi to Ada"
    total = (await aiusage.summary(hub, workspace_id=ws, run_id=run["id"]))["total"]
    assert total == {"input_tokens": 1000, "output_tokens": 500, "cost": 2.0, "calls": 1}


@pytest.mark.parametrize(("status", "body", "case"), [
    (429, {"error": {"message": "Rate limit reached", "type": "requests",
                     "code": "rate_limit_exceeded"}}, ({"retry-after": "7"}, "rate_limited")),
    (401, {"error": {"message": "Incorrect API key", "type": "invalid_request_error",
                     "code": "invalid_api_key"}}, ({}, "auth_failed")),
    (400, {"error": {"message": "This model's maximum context length is 8192 tokens",
                     "type": "invalid_request_error", "code": "context_length_exceeded"}},
     ({}, "context_too_long")),
    (500, {"error": {"message": "The server had an error", "type": "server_error"}},
     ({}, "provider_error")),
])
async def test_fallback_is_recorded(hub: Hub, ws: str, httpx_mock: HTTPXMock, status: int,
                                    body: dict[str, Any], case: tuple[dict[str, str], str]
                                    ) -> None:
    headers, code = case
    await setup_models(hub, ws)
    httpx_mock.add_response(url=f"{OPENAI}/chat/completions", status_code=status, json=body,
                            headers=headers)
    httpx_mock.add_response(url="http://llm.internal.example/v1/chat/completions",
                            json=chat_body("fallback"))
    run = await run_zap(hub, ws, [gen()], {"name": "Ada"})
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["decision"] == (
        f"answered by onprem (policy 'default') after cloud failed: {code}")
    groups = (await aiusage.summary(hub, workspace_id=ws, group_by="model"))["groups"]
    assert [(g["model"], g["calls"]) for g in groups] == [("cloud", 1), ("onprem", 1)]


async def test_all_candidates_fail_cleanly(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=f"{OPENAI}/chat/completions", status_code=429,
                            headers={"retry-after": "30"}, json={"error": {"message": "slow"}})
    httpx_mock.add_response(url="http://llm.internal.example/v1/chat/completions",
                            text="<html>bad gateway</html>")
    run = await run_zap(hub, ws, [gen()], {"name": "Ada"})
    assert run["status"] == "failed"
    err = run["error"]
    assert err["code"] == "invalid_response" and err["step_id"] == "g"
    assert "cloud failed: rate_limited, onprem failed: invalid_response" in err["message"]


async def test_anthropic_messages(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "claude", "provider": "anthropic", "config": {"model": "claude-x",
                                                              "base_url": ANTHROPIC}})
    run = await run_zap(hub, ws, [gen(model="claude")], {"name": "Ada"})
    assert run["status"] == "failed" and run["error"]["code"] == "missing_connection"
    assert not httpx_mock.get_requests()


async def test_personal_data_routes_to_on_prem_and_is_redacted(
        hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"guardrails": {
        "guardrails": [{"key": "personal_data", "mode": "redact"}]}})
    httpx_mock.add_response(url="http://llm.internal.example/v1/chat/completions",
                            json=chat_body("Done."))
    run = await run_zap(hub, ws, [gen("Reply to {{ trigger.email }} about the order")],
                        {"email": "ada@example.com"})
    assert run["status"] == "succeeded", run["error"]
    out = run["result"]
    assert out["model"] == "onprem" and "not tagged on_prem" in out["decision"]
    body = sent(httpx_mock)[0]
    assert "ada@example.com" not in json.dumps(body)
    assert body["messages"][-1]["content"] == "Reply to [EMAIL_1] about the order"
    [rec] = [g for g in out["governance"] if g["stage"] == "input"]
    assert rec["guardrail"] == "personal_data" and rec["outcome"] == "redact"
    assert rec["count"] == 1 and "email" in rec["categories"]
    assert "ada@example.com" not in json.dumps(out["governance"])


async def test_block_mode_fails_closed_before_the_model(hub: Hub, ws: str,
                                                        httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"guardrails": {
        "guardrails": [{"key": "secrets", "mode": "block"}]}})
    secret = "AKIAIOSFODNN7EXAMPLE"
    run = await run_zap(hub, ws, [gen("Store key {{ trigger.k }}")], {"k": secret})
    assert run["status"] == "failed" and run["error"]["code"] == "guardrail_blocked"
    assert secret not in json.dumps(run["error"])
    assert not httpx_mock.get_requests()


async def test_output_guardrail_blocks_before_later_steps(hub: Hub, ws: str,
                                                          httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"guardrails": {
        "guardrails": [{"key": "personal_data", "mode": "block", "stages": ["output"]}]}})
    httpx_mock.add_response(json=chat_body("mail bob@example.org"))
    run = await run_zap(hub, ws, [gen("hello"), {"id": "t", "use": "core.transform",
                                                 "input": {"x": "{{ steps.g.text }}"}}])
    assert run["status"] == "failed" and run["error"]["code"] == "guardrail_blocked"
    assert [s["step_id"] for s in run["steps"]] == ["g"] and run["steps"][0]["output"] is None


async def test_budget_stops_before_the_call(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(json=chat_body("one", 1000, 0))
    first = await run_zap(hub, ws, [gen("hello")])
    assert first["status"] == "succeeded"
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={
        "budgets": [{"scope": "workspace", "period": "day", "max_cost": 1.0}]})
    run = await run_zap(hub, ws, [gen("again")], name="z2")
    assert run["status"] == "failed" and run["error"]["code"] == "budget_exceeded"
    assert len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize(("steps", "code"), [
    ([gen(policy="nope")], "unknown_policy"),
    ([gen(model="nope")], "unknown_model"),
])
async def test_unknown_policy_or_model(hub: Hub, ws: str, steps: list[dict[str, Any]],
                                       code: str) -> None:
    await setup_models(hub, ws)
    run = await run_zap(hub, ws, steps)
    assert run["status"] == "failed" and run["error"]["code"] == code


async def test_no_eligible_model(hub: Hub, ws: str) -> None:
    await setup_models(hub, ws)
    await aiconf.put_policy(hub, workspace_id=ws, data={
        "name": "strict", "candidates": ["cloud"],
        "rules": [{"if_categories": ["email"], "require_tags": ["on_prem"]}]})
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"guardrails": {
        "guardrails": [{"key": "personal_data", "mode": "flag"}]}})
    run = await run_zap(hub, ws, [gen("to x@example.com", policy="strict")])
    assert run["status"] == "failed" and run["error"]["code"] == "no_eligible_model"


async def test_direct_models_can_be_forbidden(hub: Hub, ws: str) -> None:
    await setup_models(hub, ws)
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None,
                              data={"allow_direct_models": False})
    run = await run_zap(hub, ws, [gen(model="cloud")])
    assert run["error"]["code"] == "direct_model_not_allowed"


async def test_extract_retries_with_the_validation_error(hub: Hub, ws: str,
                                                         httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(json=chat_body("not json at all"))
    httpx_mock.add_response(json=chat_body('{"name": "Ada"}'))
    httpx_mock.add_response(json=chat_body('{"name": "Ada", "age": 36}'))
    step = {"id": "x", "use": "ai.extract", "input": {
        "text": "Ada is 36", "json_schema": {"type": "object", "required": ["name", "age"],
                                             "properties": {"age": {"type": "integer"}}}}}
    run = await run_zap(hub, ws, [step])
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["data"] == {"name": "Ada", "age": 36}
    assert run["result"]["usage"]["calls"] == 3
    last = sent(httpx_mock)[2]["messages"]
    assert "'age' is a required property" in last[-1]["content"]
    assert sent(httpx_mock)[0]["response_format"] == {"type": "json_object"}


async def test_extract_gives_up_cleanly(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(json=chat_body("nope"), is_reusable=True)
    step = {"id": "x", "use": "ai.extract", "retry": {"attempts": 1},
            "input": {"text": "t", "fields": ["a"], "retries": 1}}
    run = await run_zap(hub, ws, [step])
    assert run["status"] == "failed" and run["error"]["code"] == "invalid_model_output"
    assert len(httpx_mock.get_requests()) == 2


async def test_classify_with_the_local_model(hub: Hub, ws: str) -> None:
    await setup_models(hub, ws)
    step = {"id": "c", "use": "ai.classify", "input": {
        "model": "minilm", "text": "My card was charged twice, I want my money back",
        "labels": ["billing and refunds", "a software bug or crash", "shipping and delivery"]}}
    run = await run_zap(hub, ws, [step])
    assert run["status"] == "succeeded", run["error"]
    out = run["result"]
    assert out["label"] == "billing and refunds" and out["model"] == "minilm"
    assert out["confidence"] == max(out["scores"].values()) and out["usage"]["cost"] == 0


async def test_anthropic_with_a_connection(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    from hub.services.connections import create_connection

    key = "sk-ant-api03-secretvalue-000"
    await create_connection(hub, workspace_id=ws, connector="anthropic", name="anth",
                            values={"api_key": key})
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "claude", "provider": "anthropic", "connection": "anth",
        "config": {"model": "claude-x", "base_url": ANTHROPIC}})
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "claude2", "provider": "anthropic", "connection": "anth",
        "config": {"model": "claude-y", "base_url": ANTHROPIC + "/two"}})
    await aiconf.put_policy(hub, workspace_id=ws, data={"name": "p",
                                                        "candidates": ["claude", "claude2"]})
    httpx_mock.add_response(url=f"{ANTHROPIC}/v1/messages", status_code=529, json={
        "type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    httpx_mock.add_response(url=f"{ANTHROPIC}/two/v1/messages", json=anthropic_body("Hello"),
                            headers={"request-id": "req_018"})
    run = await run_zap(hub, ws, [gen("hi", policy="p", system="Be brief")])
    assert run["status"] == "succeeded", run["error"]
    out = run["result"]
    assert out["text"] == "Hello" and out["usage"]["request_id"] == "req_018"
    assert out["decision"] == "answered by claude2 (policy 'p') after claude failed: provider_error"
    req = httpx_mock.get_requests()[1]
    assert req.headers["x-api-key"] == key and req.headers["anthropic-version"] == "2023-06-01"
    body = json.loads(req.content)
    assert body["system"] == "Be brief" and body["messages"] == [{"role": "user",
                                                                  "content": "hi"}]
    assert key not in json.dumps(run)
