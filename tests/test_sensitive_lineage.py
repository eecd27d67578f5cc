"""Sensitive data in run records (redacted form stored, originals sealed and shown only with
view_sensitive, each view audited) and a run's lineage in one call."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from approvalhelp import actions, drive, echo, engine_hub, person, refused, request_of, start

from hub.ai import config as aiconf
from hub.approvals import service
from hub.approvals.sensitive import view_originals
from hub.approvals.tables import sensitive_originals
from hub.context import Hub
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services.lineage import lineage
from hub.settings import Settings

EMAIL = "ada.lovelace@example.com"
KEY = "AKIAIOSFODNN7EXAMPLE"
LABELS = ["billing and refunds", "a software bug or crash"]


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with engine_hub(settings) as h:
        yield h


async def _guard(hub: Hub, ws: str, key: str, mode: str) -> None:
    await aiconf.put_model(hub, workspace_id=ws, data={"name": "minilm", "provider": "local"})
    await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"guardrails": {
        "guardrails": [{"key": key, "mode": mode}]}})


def _classify(text: str) -> dict:
    return {"id": "c", "use": "ai.classify",
            "input": {"model": "minilm", "text": text, "labels": LABELS}}


async def test_redacted_input_is_stored_and_the_original_sealed(
        hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    await _guard(hub, ws, "personal_data", "redact")
    rid = await start(hub, owner, [_classify("refund {{ trigger.email }} please")],
                      {"email": EMAIL})
    assert (await drive(hub, rid)).status == "succeeded"
    run = await runs_svc.get_run(hub, workspace_id=ws, run_id=rid)
    assert run["steps"][0]["input"]["text"] == "refund [EMAIL_1] please"
    assert EMAIL not in json.dumps(run)  # nor in the trigger: masked wherever it appears
    assert run["trigger"]["email"] == "**********"
    editor = await person(hub, owner, "ed@example.com", "editor")
    assert await refused(view_originals(hub, principal=editor, run_id=rid)) == \
        "insufficient_role"
    seen = await view_originals(hub, principal=owner, run_id=rid)
    [item] = seen["items"]
    assert item["outcome"] == "redacted" and item["input"]["text"] == f"refund {EMAIL} please"
    async with hub.db.read() as conn:
        blob = (await conn.execute(sa.select(sensitive_originals.c.data))).scalar_one()
    assert EMAIL.encode() not in blob
    assert "sensitive.viewed" in await actions(hub, ws)


async def test_blocked_input_is_withheld_and_sealed(hub: Hub,
                                                    owner: identity.Principal) -> None:
    ws = owner.workspace_id
    await _guard(hub, ws, "secrets", "block")
    rid = await start(hub, owner, [_classify("store key {{ trigger.k }}")], {"k": KEY})
    row = await drive(hub, rid)
    assert row.status == "failed" and row.error["code"] == "guardrail_blocked"
    run = await runs_svc.get_run(hub, workspace_id=ws, run_id=rid)
    assert run["steps"][0]["input"] == {"withheld": "guardrail_blocked"}
    assert KEY not in json.dumps(run)
    [item] = (await view_originals(hub, principal=owner, run_id=rid))["items"]
    assert item["outcome"] == "blocked" and KEY in item["input"]["text"]
    other = await identity.create_workspace(hub, name="B", owner_email="b@example.com")
    stranger = await identity.authenticate(hub, other["token"])
    assert await refused(view_originals(hub, principal=stranger, run_id=rid)) == \
        "run_not_found"


async def test_lineage_from_trigger_to_outcome(hub: Hub,
                                               owner: identity.Principal) -> None:
    ws = owner.workspace_id
    await _guard(hub, ws, "personal_data", "redact")
    boss = await person(hub, owner, "boss@example.com", "approver")
    rid = await start(hub, owner, [
        _classify("refund {{ trigger.email }} please"),
        echo("act", value="{{ steps.c.label }}", approval={})], {"email": EMAIL})
    assert (await drive(hub, rid)).status == "waiting"
    req = await request_of(hub, rid)
    await service.decide(hub, principal=boss, approval_id=req.id, approve=True,
                         comment="refund ok", input_hash=req.input_hash)
    assert (await drive(hub, rid)).status == "succeeded"
    got = await lineage(hub, workspace_id=ws, run_id=rid)
    assert got["trigger"]["source"] == "manual" and EMAIL not in json.dumps(got)
    ai, act = got["steps"]
    assert ai["step_id"] == "c" and ai["model"] == "minilm" and "minilm" in ai["decision"]
    assert any(v["guardrail"] == "personal_data" and v["outcome"] == "redact"
               for v in ai["verdicts"])
    assert act["step_id"] == "act" and act["status"] == "succeeded"
    assert act["idempotency_key"] == f"{rid}:act"
    [call] = got["model_calls"]
    assert call["model"] == "minilm" and call["step_id"] == "c"
    [approval] = got["approvals"]
    assert approval["status"] == "approved"
    assert [d["comment"] for d in approval["decisions"]] == ["refund ok"]
    assert got["sealed_originals"][0]["step_id"] == "c"
    assert got["outcome"]["status"] == "succeeded"
    trail = [a["action"] for a in got["audit"]]
    assert trail[0] == "run.created" and trail[-1] == "run.finished"
    assert {"approval.requested", "approval.approved", "model.called",
            "guardrail.verdict", "step.executed"} <= set(trail)
