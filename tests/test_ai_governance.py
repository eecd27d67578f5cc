"""The workspace's guardrail policy around every governed step, on both backends: fail closed
on a broken guardrail, redact / flag / block modes, action inputs, what is recorded, and that
neither a zap nor an editor can switch it off. Providers are mocked at the HTTP layer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from apiclient import Api
from pytest_httpx import HTTPXMock
from test_ai_steps import OPENAI, chat_body, gen, run_zap, sent, setup_models

from hub.ai import config as aiconf
from hub.context import Hub
from hub.errors import HubError
from hub.plugins import create_plugin_manager
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from plugins import ai_fixtures

CHAT = f"{OPENAI}/chat/completions"
EMAIL = "ada.lovelace@example.com"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
RECORD_KEYS = {"stage", "guardrail", "mode", "outcome", "categories", "count"}


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the misbehaving test guardrails (overrides conftest's ``hub``)."""
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(ai_fixtures, name="aifixtures")
    h = await Hub.open(settings, pm=pm)
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


async def policy(hub: Hub, ws: str, *rules: dict[str, Any], actions: bool = False) -> None:
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={
        "guardrails": {"guardrails": list(rules), "apply_to_actions": actions}})


@pytest.mark.parametrize("key", ["raising_guard", "bad_spans_guard", "not_a_verdict_guard"])
@pytest.mark.parametrize("mode", ["flag", "redact"])
async def test_a_broken_guardrail_fails_closed(hub: Hub, ws: str, httpx_mock: HTTPXMock,
                                               key: str, mode: str) -> None:
    await setup_models(hub, ws)
    await policy(hub, ws, {"key": "personal_data", "mode": "flag"}, {"key": key, "mode": mode})
    run = await run_zap(hub, ws, [gen("hello {{ trigger.who }}", model="cloud")], {"who": EMAIL})
    assert run["status"] == "failed", run["result"]
    err = run["error"]
    assert err["code"] == "guardrail_error" and err["guardrail"] == key
    assert err["stage"] == "input" and "fails closed" in err["message"]
    assert not httpx_mock.get_requests()  # the model is never called
    assert EMAIL not in json.dumps(err) and "detector crashed" not in json.dumps(err)


async def test_redact_sends_placeholders_only(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await policy(hub, ws, {"key": "personal_data", "mode": "redact"})
    httpx_mock.add_response(url=CHAT, json=chat_body("Wrote to [EMAIL_1] and to bo@example.org"))
    prompt = "Mail {{ trigger.a }}, copy {{ trigger.a }}, then call {{ trigger.p }}"
    run = await run_zap(hub, ws, [gen(prompt, model="cloud")],
                        {"a": EMAIL, "p": "+44 20 7946 0958"})
    assert run["status"] == "succeeded", run["error"]
    [request] = httpx_mock.get_requests()
    raw = request.content.decode()
    assert EMAIL not in raw and "7946" not in raw
    content = sent(httpx_mock)[0]["messages"][-1]["content"]
    assert content.startswith("Mail [EMAIL_1], copy [EMAIL_1], then call [PHONE")
    out = run["result"]
    assert out["text"].startswith("Wrote to [EMAIL_1] and to [EMAIL_") and "bo@" not in out["text"]
    recs = {r["stage"]: r for r in out["governance"]}
    assert recs["input"]["outcome"] == "redact" and recs["input"]["count"] == 3
    assert recs["output"]["count"] == 1 and "email" in recs["output"]["categories"]


async def test_flag_mode_records_only(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await policy(hub, ws, {"key": "personal_data", "mode": "flag"})
    httpx_mock.add_response(url=CHAT, json=chat_body("ok"))
    run = await run_zap(hub, ws, [gen("hello {{ trigger.who }}", model="cloud")], {"who": EMAIL})
    assert run["status"] == "succeeded", run["error"]
    assert sent(httpx_mock)[0]["messages"][-1]["content"] == f"hello {EMAIL}"
    [rec] = [r for r in run["result"]["governance"] if r["stage"] == "input"]
    assert rec["mode"] == "flag" and rec["count"] == 1 and "email" in rec["categories"]


async def test_the_stored_verdict_never_holds_the_match(hub: Hub, ws: str,
                                                        httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await policy(hub, ws, {"key": "personal_data", "mode": "redact"},
                 {"key": "secrets", "mode": "block", "stages": ["output"]})
    httpx_mock.add_response(url=CHAT, json=chat_body("fine"))
    httpx_mock.add_response(url=CHAT, json=chat_body(f"the key is {AWS_KEY}"))
    ok = await run_zap(hub, ws, [gen("to {{ trigger.who }}", model="cloud")], {"who": EMAIL})
    assert ok["status"] == "succeeded", ok["error"]
    step = ok["steps"][0]
    for rec in step["output"]["governance"]:
        assert set(rec) == RECORD_KEYS
    assert {(r["stage"], r["guardrail"], r["outcome"]) for r in step["output"]["governance"]} == {
        ("input", "personal_data", "redact"), ("output", "personal_data", "pass"),
        ("output", "secrets", "pass")}
    assert EMAIL not in json.dumps(step["output"])
    bad = await run_zap(hub, ws, [gen("hi", model="cloud")], name="z2")
    err = bad["error"]
    assert err["code"] == "guardrail_blocked" and err["stage"] == "output"
    assert err["categories"] == ["secret", "aws_access_key_id"]
    [rec] = [r for r in err["governance"] if r["guardrail"] == "secrets"]
    assert set(rec) == RECORD_KEYS and (rec["outcome"], rec["count"]) == ("redact", 1)
    assert AWS_KEY not in json.dumps(bad) and bad["steps"][0]["output"] is None


async def test_apply_to_actions_checks_non_ai_inputs(hub: Hub, ws: str) -> None:
    step = {"id": "t", "use": "core.transform", "input": {"note": "key {{ trigger.k }}"}}
    await policy(hub, ws, {"key": "secrets", "mode": "block"})
    run = await run_zap(hub, ws, [step], {"k": AWS_KEY}, name="off")
    assert run["status"] == "succeeded"  # actions are not checked unless the policy says so
    await policy(hub, ws, {"key": "secrets", "mode": "block"}, actions=True)
    run = await run_zap(hub, ws, [step], {"k": AWS_KEY}, name="on")
    assert run["status"] == "failed" and run["error"]["code"] == "guardrail_blocked"
    assert run["error"]["guardrail"] == "secrets" and AWS_KEY not in json.dumps(run["error"])
    await policy(hub, ws, {"key": "personal_data", "mode": "redact"}, actions=True)
    run = await run_zap(hub, ws, [{"id": "t", "use": "core.transform",
                                   "input": {"to": "{{ trigger.e }}", "n": 3}}],
                        {"e": EMAIL}, name="redact")
    assert run["status"] == "succeeded", run["error"]
    assert run["result"] == {"to": "[EMAIL_1]", "n": 3}


async def test_a_zap_has_no_switch(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    await policy(hub, ws, {"key": "secrets", "mode": "block"})
    for doc in ({"guardrails": False}, {"governance": {"enabled": False}}):
        with pytest.raises(HubError) as exc:
            await zaps_svc.create_zap(hub, workspace_id=ws, document={
                "name": "sneaky", "trigger": {"kind": "manual"}, "steps": [gen("x")], **doc})
        assert exc.value.status == 422
    for step in ({**gen("x"), "guardrails": "off"}, gen("x", guardrails=False)):
        with pytest.raises(HubError) as exc:
            await zaps_svc.create_zap(hub, workspace_id=ws, document={
                "name": "sneaky", "trigger": {"kind": "manual"}, "steps": [step]})
        assert exc.value.status == 422 and "guardrails" in str(exc.value.message)
    run = await run_zap(hub, ws, [gen("k={{ trigger.k }}", model="cloud")], {"k": AWS_KEY},
                        name="plain")
    assert run["error"]["code"] == "guardrail_blocked" and not httpx_mock.get_requests()


async def test_only_admins_edit_the_policy(api: Api) -> None:
    admin_policy = {"guardrails": {"guardrails": [{"key": "secrets", "mode": "block"}]}}
    assert (await api.put("/api/v1/ai/settings", json=admin_policy)).status_code == 200
    editor = (await api.post("/api/v1/users", json={"email": "ed@x.io", "role": "editor"})).json()
    for body in ({"guardrails": {"guardrails": []}},
                 {"guardrails": {"guardrails": [{"key": "secrets", "mode": "flag"}]}}):
        r = await api.put("/api/v1/ai/settings", token=editor["token"], json=body)
        assert r.status_code == 403, r.text
    r = await api.put("/api/v1/ai/settings", token=editor["token"],
                      content=b"guardrails: {guardrails: []}",
                      headers={"Content-Type": "application/yaml"})
    assert r.status_code == 403
    got = (await api.get("/api/v1/ai/settings")).json()
    assert got["guardrails"] == {"guardrails": [{"key": "secrets", "mode": "block", "config": {},
                                                 "stages": ["input", "output"]}],
                                 "apply_to_actions": False}
