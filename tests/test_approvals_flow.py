"""Approvals hold inside flow steps: a branch step waits like a top-level one; a step inside a
loop or on_failure, which cannot wait, fails rather than run unapproved."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from approvalhelp import calls, drive, echo, engine_hub, refused, request_of, start

from hub.approvals import policy as policies
from hub.approvals import service
from hub.audit import Actor
from hub.context import Hub
from hub.services import identity
from hub.services import runs as runs_svc
from hub.settings import Settings

RULE = {"external_connectors": ["eng"], "allow_self_approval": True,
        "rules": [{"name": "outside", "when": "external", "approval": {"approvers": "owner"}}]}


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with engine_hub(settings) as h:
        yield h


async def _rule(hub: Hub, owner: identity.Principal) -> None:
    await policies.save_policy(hub.db, workspace_id=owner.workspace_id, document=RULE,
                               actor=Actor("user", owner.user_id))


async def test_a_branch_step_waits_for_the_rule(hub: Hub, owner: identity.Principal) -> None:
    await _rule(hub, owner)
    paths = {"id": "route", "use": "core.paths",
             "branches": [{"name": "big", "when": "trigger.n > `10`", "steps": [echo("send")]}]}
    rid = await start(hub, owner, [paths], {"n": 50})
    assert (await drive(hub, rid)).status == "waiting" and calls(rid) == []
    req = await request_of(hub, rid)
    assert req.step_id == "send"
    await service.decide(hub, principal=owner, approval_id=req.id, approve=True,
                         input_hash=req.input_hash)
    assert (await drive(hub, rid)).status == "succeeded"
    assert calls(rid) == ["send"]


async def test_a_loop_step_fails_instead_of_running_unapproved(
        hub: Hub, owner: identity.Principal) -> None:
    await _rule(hub, owner)
    loop = {"id": "each", "use": "core.loop", "input": {"items": "{{ trigger.items }}"},
            "steps": [echo("send")]}
    rid = await start(hub, owner, [loop], {"items": [1, 2]})
    row = await drive(hub, rid)
    assert row.status == "failed" and calls(rid) == []
    detail = await runs_svc.get_run(hub, workspace_id=owner.workspace_id, run_id=rid)
    assert detail["error"]["code"] == "approval_not_possible"


async def test_approval_inside_a_loop_is_refused_at_save(
        hub: Hub, owner: identity.Principal) -> None:
    loop = {"id": "each", "use": "core.loop", "input": {"items": [1]},
            "steps": [echo("send", approval={"approvers": "owner"})]}
    assert await refused(start(hub, owner, [loop])) == "invalid_zap"
