"""Approval rules of the workspace policy, notifications with signed links, validation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import parse_qs, urlparse

import pytest
from approvalhelp import calls, drive, echo, engine_hub, person, refused, request_of, start

from hub.ai import config as aiconf
from hub.approvals import policy as policies
from hub.approvals import service
from hub.audit import Actor
from hub.context import Hub
from hub.errors import ZapInvalid
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from plugins import engine_fixtures as fx


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with engine_hub(settings) as h:
        yield h


async def _policy(hub: Hub, owner: identity.Principal, **doc: object) -> None:
    await policies.save_policy(hub.db, workspace_id=owner.workspace_id, document=doc,
                               actor=Actor("user", owner.user_id))


async def test_amount_rule(hub: Hub, owner: identity.Principal) -> None:
    await _policy(hub, owner, rules=[{"name": "big", "when": "amount_above", "field": "number",
                                      "threshold": 100}])
    small = await start(hub, owner, [echo("pay", number="{{ trigger.n }}")], {"n": 50})
    assert (await drive(hub, small)).status == "succeeded"
    big = await start(hub, owner, [echo("pay", number="{{ trigger.n }}")], {"n": 500}, "z2")
    assert (await drive(hub, big)).status == "waiting" and calls(big) == []
    assert (await request_of(hub, big)).rules == ["policy:big"]


async def test_external_connector_rule_and_self_approval_policy(
        hub: Hub, owner: identity.Principal) -> None:
    await _policy(hub, owner, external_connectors=["eng"], allow_self_approval=True,
                  rules=[{"name": "outside", "when": "external",
                          "approval": {"approvers": "owner"}}])
    rid = await start(hub, owner, [{"id": "t", "use": "core.transform", "input": {"a": 1}},
                                   echo("send")])
    assert (await drive(hub, rid)).status == "waiting"
    req = await request_of(hub, rid)
    assert req.step_id == "send"
    out = await service.decide(hub, principal=owner, approval_id=req.id, approve=True,
                               input_hash=req.input_hash)  # allowed by the policy
    assert out["status"] == "approved"
    assert (await drive(hub, rid)).status == "succeeded"


async def test_ai_output_rule_shows_what_led_to_it(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    await aiconf.put_model(hub, workspace_id=ws, data={"name": "minilm", "provider": "local"})
    await _policy(hub, owner, rules=[{"name": "ai", "when": "ai_input"}])
    classify = {"id": "c", "use": "ai.classify", "input": {
        "model": "minilm", "text": "{{ trigger.text }}",
        "labels": ["billing and refunds", "a software bug or crash"]}}
    rid = await start(hub, owner, [classify, echo("act", value="{{ steps.c.label }}")],
                      {"text": "I was charged twice, refund me"})
    assert (await drive(hub, rid)).status == "waiting"
    req = await request_of(hub, rid)
    shown = await service.get_approval(hub, workspace_id=ws, approval_id=req.id)
    [ai] = shown["context"]["ai"]
    assert ai["step_id"] == "c" and ai["read_by_step"] and ai["model"] == "minilm"
    assert "minilm" in ai["decision"]
    assert shown["input"]["value"] == ai["output"]["label"]
    assert shown["context"]["trigger"] == {"text": "I was charged twice, refund me"}


async def test_notification_carries_a_signed_expiring_link(hub: Hub,
                                                           owner: identity.Principal) -> None:
    notify = [{"use": "eng.echo", "input": {"label": "{{ vars.approval.url }}"}}]
    rid = await start(hub, owner, [echo("send", approval={"notify": notify})])
    assert (await drive(hub, rid)).status == "waiting"
    req = await request_of(hub, rid)
    [sent] = [c for c in fx.CALLS if c["run_id"] == rid]
    url = urlparse(sent["label"])
    assert url.path == f"/approvals/{req.id}"
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    shown = await service.link_summary(hub, approval_id=req.id, exp=int(q["exp"]),
                                       kid=q["kid"], sig=q["sig"])
    assert shown["status"] == "pending" and "input" not in shown
    assert await refused(service.link_summary(hub, approval_id=req.id, exp=int(q["exp"]) + 1,
                                              kid=q["kid"], sig=q["sig"])) == \
        "approval_link_invalid"
    assert await refused(service.link_summary(hub, approval_id=req.id, exp=int(q["exp"]),
                                              kid="nope", sig=q["sig"])) == \
        "approval_link_invalid"
    from hub.approvals import links

    old = links.sign(hub.settings, hub.secrets, req.id, 1000.0)
    q = {k: v[0] for k, v in parse_qs(urlparse(old).query).items()}
    assert await refused(service.link_summary(hub, approval_id=req.id, exp=1000, kid=q["kid"],
                                              sig=q["sig"])) == "approval_link_expired"


@pytest.mark.parametrize(("approval", "path"), [
    ({"timeout": "forever"}, "steps[0].approval.timeout"),
    ({"timeout": "90d"}, "steps[0].approval.timeout"),
    ({"min_approvals": 0}, "steps[0].approval.min_approvals"),
    ({"approvers": []}, "steps[0].approval.approvers"),
    ({"on_timeout": "maybe"}, "steps[0].approval.on_timeout"),
    ({"notify": [{"use": "nope.send"}]}, "steps[0].approval.notify[0].use"),
    ({"notify": [{"use": "eng.echo", "input": {"label": "{{ steps.send.x }}"}}]},
     "steps[0].approval.notify[0].input.label"),
])
async def test_bad_approval_settings_are_refused(hub: Hub, owner: identity.Principal,
                                                 approval: dict, path: str) -> None:
    doc = {"name": "z", "trigger": {"kind": "manual"}, "steps": [echo("send", approval=approval)]}
    with pytest.raises(ZapInvalid) as info:
        await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=doc)
    assert info.value.errors[0]["path"] == path


async def test_bad_policy_is_refused(hub: Hub, owner: identity.Principal) -> None:
    for bad in ({"rules": [{"name": "x", "when": "sometimes"}]}, {"rules": "all"},
                {"extra": True}, {"rules": [{"name": "r", "when": "external"}] * 51}):
        code = await refused(policies.save_policy(hub.db, workspace_id=owner.workspace_id,
                                                  document=bad, actor=Actor("user", "u")))
        assert code == "invalid_policy"
    assert not (await policies.load_policy(hub.db, owner.workspace_id)).rules


async def test_editor_of_the_zap_cannot_approve(hub: Hub, owner: identity.Principal) -> None:
    ed = await person(hub, owner, "ed@example.com", "admin")
    rid = await start(hub, ed, [echo("send", approval={})])  # ed wrote and started it
    await drive(hub, rid)
    req = await request_of(hub, rid)
    assert await refused(service.decide(hub, principal=ed, approval_id=req.id, approve=True,
                                        input_hash=req.input_hash)) == "self_approval_forbidden"
    out = await service.decide(hub, principal=owner, approval_id=req.id, approve=True,
                               input_hash=req.input_hash)
    assert out["status"] == "approved"
