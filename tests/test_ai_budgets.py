"""Budgets stop a step before any model call; provider Retry-After drives the engine's retry
delay; malformed provider answers fail the run cleanly. Both backends, providers mocked."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from pytest_httpx import HTTPXMock
from test_ai_steps import OPENAI, chat_body, gen, run_zap, setup_models

from hub.ai import config as aiconf
from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc

CHAT = f"{OPENAI}/chat/completions"


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


async def budgets(hub: Hub, ws: str, *items: dict[str, Any]) -> None:
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"budgets": list(items)})


async def test_zap_budget_stops_only_that_zap(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=CHAT, json=chat_body("ok", 300, 100), is_reusable=True)
    first = await run_zap(hub, ws, [gen("hello")], name="spender")
    assert first["status"] == "succeeded", first["error"]
    await budgets(hub, ws, {"scope": "zap", "zap_id": first["zap_id"], "period": "month",
                            "max_cost": 0.5})
    assert len(httpx_mock.get_requests()) == 1
    other = await run_zap(hub, ws, [gen("hello")], name="other")
    assert other["status"] == "succeeded", other["error"]
    assert len(httpx_mock.get_requests()) == 2
    run = await runs_svc.start_run(hub, workspace_id=ws, zap_id=first["zap_id"], data={})
    await Worker(hub, poll_interval=0.01).run_until_idle(20)
    again = await runs_svc.get_run(hub, workspace_id=ws, run_id=run["id"])
    assert again["status"] == "failed" and again["error"]["code"] == "budget_exceeded"
    assert again["error"]["scope"] == "zap" and again["error"]["period"] == "month"
    assert "zap" in again["error"]["message"]
    assert len(httpx_mock.get_requests()) == 2  # no HTTP request for the stopped step


async def test_token_budget(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await budgets(hub, ws, {"scope": "workspace", "period": "day", "max_tokens": 1000})
    httpx_mock.add_response(url=CHAT, json=chat_body("ok", 600, 300))
    httpx_mock.add_response(url=CHAT, json=chat_body("ok", 50, 50))
    assert (await run_zap(hub, ws, [gen("a")], name="a"))["status"] == "succeeded"
    assert (await run_zap(hub, ws, [gen("b")], name="b"))["status"] == "succeeded"
    stopped = await run_zap(hub, ws, [gen("c")], name="c")  # 1000 tokens used: no more
    assert stopped["status"] == "failed" and stopped["error"]["code"] == "budget_exceeded"
    assert "token budget is used up (1000 of 1000)" in stopped["error"]["message"]
    assert len(httpx_mock.get_requests()) == 2


async def test_policy_cost_per_run_and_per_call(hub: Hub, ws: str,
                                                httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await aiconf.put_policy(hub, workspace_id=ws, data={
        "name": "capped", "candidates": [{"model": "cloud", "max_cost_per_call": 0.0001},
                                         "onprem"], "max_cost_per_run": 0.0})
    run = await run_zap(hub, ws, [gen("a", policy="capped")])
    assert run["status"] == "failed" and run["error"]["code"] == "budget_exceeded"
    assert run["error"]["scope"] == "run" and not httpx_mock.get_requests()
    await aiconf.put_policy(hub, workspace_id=ws, data={
        "name": "capped", "candidates": [{"model": "cloud", "max_cost_per_call": 0.0001},
                                         "onprem"]})
    httpx_mock.add_response(url="http://llm.internal.example/v1/chat/completions",
                            json=chat_body("cheap"))
    run = await run_zap(hub, ws, [gen("a", policy="capped")], name="z2")
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["decision"] == ("answered by onprem (policy 'capped'); skipped cloud: "
                                         "estimated cost over 0.0001 per call")


async def finish(hub: Hub, ws: str, run_id: str, timeout: float = 15.0) -> dict[str, Any]:
    """Drive the worker until the run is final (retries are queued for later)."""
    deadline = time.monotonic() + timeout
    worker = Worker(hub, poll_interval=0.01)
    while time.monotonic() < deadline:
        await worker.run_until_idle(timeout)
        run = await runs_svc.get_run(hub, workspace_id=ws, run_id=run_id)
        if run["status"] in runs_svc.FINAL:
            return run
        await asyncio.sleep(0.05)
    raise AssertionError("the run did not finish")


async def start(hub: Hub, ws: str, step: dict[str, Any]) -> str:
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document={
        "name": "r", "trigger": {"kind": "manual"}, "steps": [step]})
    return (await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data={}))["id"]


async def test_retry_after_sets_the_retry_delay(hub: Hub, ws: str,
                                                httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=CHAT, status_code=429, headers={"Retry-After": "1"}, json={
        "error": {"message": "Rate limit reached", "type": "requests",
                  "code": "rate_limit_exceeded"}})
    httpx_mock.add_response(url=CHAT, json=chat_body("finally"))
    step = {**gen("hello", model="cloud"),
            "retry": {"attempts": 3, "backoff": 0.01, "jitter": False}}
    run = await finish(hub, ws, await start(hub, ws, step))
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["text"] == "finally"
    failed, ok = run["steps"]
    assert failed["error"]["code"] == "rate_limited" and failed["error"]["retry_after"] == 1.0
    assert failed["error"]["retry_in"] == 1.0  # not the policy's 0.01 s
    assert ok["status"] == "succeeded" and ok["started_at"] - failed["finished_at"] >= 0.95
    assert len(httpx_mock.get_requests()) == 2


async def test_retry_after_is_capped_by_max_backoff(hub: Hub, ws: str,
                                                    httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=CHAT, status_code=429, headers={"Retry-After": "3600"},
                            json={"error": {"message": "slow down", "type": "requests"}})
    step = {**gen("hello", model="cloud"),
            "retry": {"attempts": 2, "backoff": 0, "max_backoff": 0.2, "jitter": False}}
    run = await finish(hub, ws, await start(hub, ws, step))
    assert run["status"] == "failed" and run["error"]["code"] == "rate_limited"
    first, second = run["steps"]
    assert first["error"]["retry_in"] == 0.2
    # the model stays cooled down for its Retry-After: the retry makes no second HTTP call
    assert second["error"]["code"] == "rate_limited" and len(httpx_mock.get_requests()) == 1


@pytest.mark.parametrize("body", [
    {"choices": []},
    {"id": "x", "choices": [{"index": 0, "message": {"role": "assistant", "content": None}}]},
    ["not", "an", "object"],
])
async def test_malformed_provider_answer_fails_cleanly(hub: Hub, ws: str, httpx_mock: HTTPXMock,
                                                       body: Any) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=CHAT, json=body, is_reusable=True)
    step = {**gen("hello", model="cloud"), "retry": {"attempts": 2, "backoff": 0}}
    run = await finish(hub, ws, await start(hub, ws, step))
    assert run["status"] == "failed" and run["error"]["code"] == "invalid_response"
    assert run["error"]["step_id"] == "g" and run["result"] is None
    assert [s["status"] for s in run["steps"]] == ["failed", "failed"]  # retryable: tried twice
    assert len(httpx_mock.get_requests()) == 2
