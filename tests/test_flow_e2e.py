"""End to end over the real app and engine: a signed GitHub ``issues`` webhook → ``ai.classify``
(the local model, offline) → ``core.paths`` → ``slack.post_message`` (Slack mocked at the HTTP
layer, shaped like chat.postMessage) for billing issues, ``tables.upsert`` for bugs."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from apiclient import Api
from pytest_httpx import HTTPXMock
from test_webhook_support import add_secret, github_sig, hub_of, workspace

SLACK = "https://slack.com/api"
TOKEN = "xoxb-e2e-bot-token-81a9"
LABELS = ["billing and refunds", "a software bug or crash"]
ZAP: dict[str, Any] = {
    "name": "triage", "trigger": {"kind": "webhook", "config": {
        "signature": "github", "connection": "gh-secret"}},
    "steps": [
        {"id": "classify", "use": "ai.classify", "input": {
            "text": "{{ trigger.body.issue.title }}", "labels": LABELS}},
        {"id": "route", "use": "core.paths", "branches": [
            {"name": "billing", "when": "steps.classify.label == 'billing and refunds'",
             "steps": [{"id": "notify", "use": "slack.post_message", "connection": "team",
                        "input": {"channel": "#billing", "text": "Refund request "
                                  "#{{ trigger.body.issue.number }}: "
                                  "{{ trigger.body.issue.title }}"}}]},
            {"name": "bug", "when": "steps.classify.label == 'a software bug or crash'",
             "steps": [{"id": "save", "use": "tables.upsert", "input": {
                 "table": "bugs", "values": {"number": "{{ trigger.body.issue.number }}",
                                             "title": "{{ trigger.body.issue.title }}"}}}]}]}],
    "output": {"branch": "{{ steps.route.branch }}", "label": "{{ steps.classify.label }}"}}


def issue(number: int, title: str) -> dict[str, Any]:
    """An ``issues`` delivery as GitHub sends it (the fields the zap reads, and some more)."""
    raw = json.dumps({"action": "opened", "issue": {
        "number": number, "title": title, "state": "open", "user": {"login": "octocat"},
        "html_url": f"https://github.com/octo/app/issues/{number}"},
        "repository": {"full_name": "octo/app"}, "sender": {"login": "octocat"}}).encode()
    return {"content": raw, "headers": {
        "content-type": "application/json", "x-github-event": "issues",
        "x-github-delivery": f"d-{number}", "x-hub-signature-256": github_sig(raw)}}


async def setup(api: Api, httpx_mock: HTTPXMock) -> str:
    hub, ws = hub_of(api), await workspace(api)
    await add_secret(hub, ws)
    httpx_mock.add_response(method="POST", url=f"{SLACK}/auth.test", json={
        "ok": True, "url": "https://acme.slack.com/", "team": "Acme", "user": "triage-bot",
        "team_id": "T12345", "user_id": "U12345", "bot_id": "B12345"})
    r = await api.post("/api/v1/connections", json={
        "connector": "slack", "name": "team", "values": {"access_token": TOKEN}})
    assert r.status_code == 201, r.text
    assert (await api.put("/api/v1/ai/models/minilm", json={"provider": "local"})).status_code \
        == 200
    r = await api.put("/api/v1/ai/policies/default", json={"candidates": ["minilm"]})
    assert r.status_code == 200, r.text
    r = await api.post("/api/v1/tables", json={"name": "bugs", "key": "number", "columns": [
        {"name": "number", "type": "integer"}, {"name": "title", "type": "text"}]})
    assert r.status_code == 201, r.text
    made = await api.post("/api/v1/zaps", json=ZAP)
    assert made.status_code == 201, made.text
    return (await api.get(f"/api/v1/zaps/{made.json()['id']}")).json()["webhook"]["path"]


async def deliver(api: Api, path: str, number: int, title: str) -> dict[str, Any]:
    answer = await api.client.post(path, **issue(number, title))
    assert answer.status_code == 202, answer.text
    for _ in range(1500):
        run = (await api.get(f"/api/v1/runs/{answer.json()['run_id']}")).json()
        if run["status"] in ("succeeded", "failed"):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError("the run did not finish")


async def test_webhook_classify_route_act(api: Api, httpx_mock: HTTPXMock) -> None:
    path = await setup(api, httpx_mock)
    httpx_mock.add_response(
        method="POST", url=f"{SLACK}/chat.postMessage",
        match_headers={"Authorization": f"Bearer {TOKEN}"},
        json={"ok": True, "channel": "C0BILLING", "ts": "1733000000.000100", "message": {
            "type": "message", "subtype": "bot_message", "text": "Refund request",
            "ts": "1733000000.000100", "bot_id": "B12345"}})

    billing = await deliver(api, path, 101, "My card was charged twice, I want my money back")
    assert billing["status"] == "succeeded", billing["error"]
    assert billing["result"] == {"branch": "billing", "label": "billing and refunds"}
    assert [s["step_id"] for s in billing["steps"]] == ["classify", "notify", "route"]
    (sent,) = [r for r in httpx_mock.get_requests() if r.url.path == "/api/chat.postMessage"]
    assert json.loads(sent.read()) == {
        "channel": "#billing",
        "text": "Refund request #101: My card was charged twice, I want my money back"}
    assert billing["steps"][1]["output"] == {"channel": "C0BILLING", "ts": "1733000000.000100",
                                             "thread_ts": None}

    bug = await deliver(api, path, 102, "The app crashes with an error when I press save")
    assert bug["status"] == "succeeded", bug["error"]
    assert bug["result"] == {"branch": "bug", "label": "a software bug or crash"}
    assert [s["step_id"] for s in bug["steps"]] == ["classify", "save", "route"]
    rows = (await api.get("/api/v1/tables/bugs/rows")).json()["items"]
    assert [(r["values"]["number"], r["values"]["title"]) for r in rows] == [
        (102, "The app crashes with an error when I press save")]
    assert len([r for r in httpx_mock.get_requests() if "postMessage" in r.url.path]) == 1
    assert TOKEN not in json.dumps([billing, bug])


async def test_flow_steps_in_the_catalog(api: Api) -> None:
    catalog = (await api.get("/api/v1/catalog")).json()
    core = next(c for c in catalog["connectors"] if c["key"] == "core")
    actions = {a["key"]: a for a in core["actions"]}
    assert {"paths", "loop", "delay", "call_zap"} <= set(actions)
    paths = actions["paths"]["input_schema"]
    assert paths["x-holds"] == "branches" and paths["properties"]["mode"]["enum"] == [
        "first", "all"]
    assert paths["properties"]["matched"]["readOnly"] is True
    loop = actions["loop"]["input_schema"]
    assert loop["x-holds"] == "steps" and loop["required"] == ["items"]
    assert loop["properties"]["concurrency"]["maximum"] == 20
    delay = actions["delay"]["input_schema"]["properties"]
    assert delay["until"]["format"] == "date-time" and delay["seconds"]["minimum"] == 0
    call = actions["call_zap"]
    assert call["input_schema"]["required"] == ["zap"]
    assert set(call["output_schema"]["properties"]) == {"run_id", "status", "result"}
