"""What the hub records in the audit trail, in the same transaction as each change: zaps,
connections (never a secret), vault and AI policy changes, runs, steps, models, guardrails."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from apiclient import Api
from approvalhelp import drive, echo, engine_hub, start
from vaulthelp import OTHER_SECRET, SECRET, VALUES, load_vault_plugin

from hub import audit
from hub.ai import config as aiconf
from hub.context import Hub
from hub.services import identity
from hub.settings import Settings
from hub.vault import keys

CONN = "/api/v1/connections"


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with engine_hub(settings) as h:
        yield h


async def _records(api: Api, prefix: str) -> list[dict]:
    items = (await api.get(f"/api/v1/audit?action={prefix}*&limit=200")).json()["items"]
    return list(reversed(items))


async def test_zap_changes_are_recorded_with_who(api: Api) -> None:
    me = (await api.get("/api/v1/me")).json()
    doc = {"name": "z", "trigger": {"kind": "manual"},
           "steps": [{"id": "t", "use": "core.transform", "input": {"a": 1}}]}
    zid = (await api.post("/api/v1/zaps", json=doc)).json()["id"]
    await api.put(f"/api/v1/zaps/{zid}", json={**doc, "name": "z2"})
    await api.post(f"/api/v1/zaps/{zid}/disable")
    await api.post(f"/api/v1/zaps/{zid}/enable")
    bad = await api.put(f"/api/v1/zaps/{zid}", json={**doc, "steps": []})
    assert bad.status_code == 422  # refused: nothing recorded
    assert (await api.delete(f"/api/v1/zaps/{zid}")).status_code == 204
    recs = await _records(api, "zap.")
    assert [r["action"] for r in recs] == ["zap.created", "zap.updated", "zap.disabled",
                                           "zap.enabled", "zap.deleted"]
    assert all(r["actor"]["id"] == me["user_id"] and r["target"]["id"] == zid for r in recs)
    assert recs[1]["data"] == {"name": "z2", "version": 2, "enabled": True}


@pytest.fixture
def vlt(monkeypatch: pytest.MonkeyPatch) -> None:
    load_vault_plugin(monkeypatch)


async def test_connection_changes_never_record_secrets(vlt: None, api: Api) -> None:
    r = await api.post(CONN, json={"connector": "vlt", "name": "main", "values": VALUES})
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    new = {"api_key": OTHER_SECRET}
    r = await api.client.patch(f"{CONN}/{cid}", json={"values": new}, headers=api.auth())
    assert r.status_code == 200, r.text
    assert (await api.delete(f"{CONN}/{cid}")).status_code == 204
    recs = await _records(api, "connection.")
    assert [r["action"] for r in recs] == ["connection.created", "connection.updated",
                                           "connection.deleted"]
    assert recs[0]["data"] == {"name": "main", "connector": "vlt"}
    assert recs[1]["data"]["fields"] == ["api_key"]
    export = (await api.get("/api/v1/audit/export")).text
    assert SECRET not in export and OTHER_SECRET not in export


async def test_vault_and_ai_policy_changes(api: Api) -> None:
    assert (await api.put("/api/v1/vault/settings",
                          json={"encrypt_payloads": False})).status_code == 200
    r = await api.put("/api/v1/ai/settings", json={"guardrails": {
        "guardrails": [{"key": "personal_data", "mode": "redact"}]}})
    assert r.status_code == 200, r.text
    recs = await _records(api, "")
    got = {r["action"]: r["data"] for r in recs}
    assert got["vault.payload_encryption"] == {"enabled": False}
    assert got["ai.settings_saved"]["guardrails"]["guardrails"][0]["key"] == "personal_data"
    running = api.app.state.hub
    target = running.secrets.add_key()
    moved = await keys.rewrap_batch(running, target)
    assert moved.moved >= 1
    recs = await _records(api, "vault.keys")
    assert recs[0]["data"]["data_keys"] >= 1 and recs[0]["target"]["id"] == target


async def test_run_steps_models_and_guardrails_are_recorded(
        hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    await aiconf.put_model(hub, workspace_id=ws, data={"name": "minilm", "provider": "local"})
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"guardrails": {
        "guardrails": [{"key": "personal_data", "mode": "redact"}]}})
    classify = {"id": "c", "use": "ai.classify", "input": {
        "model": "minilm", "text": "refund ada@example.com please",
        "labels": ["billing and refunds", "a software bug or crash"]}}
    rid = await start(hub, owner, [classify, echo("e", value="{{ steps.c.label }}")])
    assert (await drive(hub, rid)).status == "succeeded"
    async with hub.db.read() as conn:
        page = await audit.list_records(conn, ws, limit=200, cursor=None,
                                        filters={"run_id": rid})
    recs = list(reversed(page["items"]))
    # the start rides on the claim, the model call commits at once, the step's records ride on
    # its checkpoint
    assert [r["action"] for r in recs] == [
        "run.created", "run.started", "model.called", "step.executed", "guardrail.verdict",
        "guardrail.verdict", "step.executed", "run.finished"]
    model = recs[2]["data"]
    assert model["model"] == "minilm" and model["outcome"] == "ok"
    assert {"input_tokens", "output_tokens", "cost", "policy", "fallback_after"} <= set(model)
    step = recs[3]["data"]
    assert step == {"connector": "ai", "action": "ai.classify", "connection": None,
                    "idempotency_key": f"{rid}:c", "attempt": 1, "outcome": "succeeded",
                    "error_code": None}
    verdict = recs[4]["data"]
    assert verdict["guardrail"] == "personal_data" and verdict["outcome"] == "redact"
    assert "ada@example.com" not in json.dumps(recs)
    assert recs[-1]["data"]["status"] == "succeeded"
    assert all(v.ok for v in await audit.verify_all(hub.db, [ws]))
