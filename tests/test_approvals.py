"""Approvals in the engine and the service: waiting, N-of-M, refusals, timeouts, hashes."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from approvalhelp import (
    actions,
    calls,
    drive,
    echo,
    engine_hub,
    expire,
    person,
    refused,
    request_of,
    start,
)

from hub import audit
from hub.approvals import service
from hub.approvals.tables import approval_requests
from hub.context import Hub
from hub.services import identity
from hub.settings import Settings


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    async with engine_hub(settings) as h:
        yield h


TWO_APPROVERS = {"approvers": "approver", "min_approvals": 2, "timeout": "24h"}


async def test_waits_then_runs_exactly_the_approved_input(hub: Hub,
                                                         owner: identity.Principal) -> None:
    ws = owner.workspace_id
    ann = await person(hub, owner, "ann@example.com", "approver")
    bob = await person(hub, owner, "bob@example.com", "approver")
    vic = await person(hub, owner, "vic@example.com", "editor")  # edits, cannot decide
    rid = await start(hub, owner, [echo("first"), echo(
        "pay", value="{{ trigger.amount }}", approval=TWO_APPROVERS)], data={"amount": 42})
    row = await drive(hub, rid)
    assert row.status == "waiting" and row.lease_owner is None
    assert calls(rid) == ["first"]
    req = await request_of(hub, rid)
    shown = await service.get_approval(hub, workspace_id=ws, approval_id=req.id)
    assert shown["action"] == "eng.echo" and shown["status"] == "pending"
    assert shown["input"] == {"label": "pay", "value": 42}
    assert shown["context"]["trigger"] == {"amount": 42}
    digest = shown["input_hash"]

    def decide(who: identity.Principal, approve: bool = True, h: str | None = digest):  # type: ignore[no-untyped-def]
        return service.decide(hub, principal=who, approval_id=req.id, approve=approve,
                              comment="ok", input_hash=h)

    out = await decide(ann)
    assert out["status"] == "pending" and out["approvals"] == 1
    assert await refused(decide(ann)) == "approval_already_decided"
    assert await refused(decide(owner)) == "self_approval_forbidden"  # started the run
    assert await refused(decide(vic)) == "not_an_approver"
    assert await refused(decide(bob, h="0" * 64)) == "approval_input_changed"
    assert (await drive(hub, rid)).status == "waiting"  # one of two is not enough
    assert (await decide(bob))["status"] == "approved"
    assert await refused(decide(bob)) == "approval_closed"
    row = await drive(hub, rid)
    assert row.status == "succeeded"
    assert calls(rid) == ["first", "pay"]
    done = [a for a in await actions(hub, ws) if a.startswith("approval.")]
    assert done == ["approval.requested", "approval.approved", "approval.refused",
                    "approval.refused", "approval.refused", "approval.refused",
                    "approval.approved", "approval.refused"]
    assert all(v.ok for v in await audit.verify_all(hub.db, [ws]))


async def test_rejection_ends_the_run_rejected(hub: Hub, owner: identity.Principal) -> None:
    ann = await person(hub, owner, "ann@example.com", "admin")
    rid = await start(hub, owner, [echo("send", approval={"approvers": ["ann@example.com"]})])
    await drive(hub, rid)
    req = await request_of(hub, rid)
    editor = await person(hub, owner, "ed@example.com", "editor")
    assert await refused(service.decide(hub, principal=editor, approval_id=req.id,
                                        approve=False)) == "not_an_approver"
    out = await service.decide(hub, principal=ann, approval_id=req.id, approve=False,
                               comment="not this one")
    assert out["status"] == "rejected"
    row = await drive(hub, rid)
    assert row.status == "rejected" and row.error["code"] == "approval_rejected"
    assert calls(rid) == []


@pytest.mark.parametrize(("on_timeout", "status", "ran"), [
    ("reject", "rejected", []), ("approve", "succeeded", ["send"])])
async def test_timeout_is_fired_by_the_engine(hub: Hub, owner: identity.Principal,
                                              on_timeout: str, status: str,
                                              ran: list[str]) -> None:
    ann = await person(hub, owner, "ann@example.com", "admin")
    rid = await start(hub, owner, [echo("send", approval={"on_timeout": on_timeout,
                                                          "timeout": 60})])
    await drive(hub, rid)
    req = await request_of(hub, rid)
    await expire(hub, rid)
    assert await refused(service.decide(hub, principal=ann, approval_id=req.id, approve=True,
                                        input_hash=req.input_hash)) == "approval_expired"
    row = await drive(hub, rid)
    assert row.status == status and calls(rid) == ran
    if status == "rejected":
        assert row.error["code"] == "approval_timed_out"
    assert "approval.timed_out" in await actions(hub, owner.workspace_id)


async def test_other_workspace_sees_nothing(hub: Hub, owner: identity.Principal) -> None:
    rid = await start(hub, owner, [echo("send", approval={})])
    await drive(hub, rid)
    req = await request_of(hub, rid)
    other = await identity.create_workspace(hub, name="B", owner_email="b@example.com")
    stranger = await identity.authenticate(hub, other["token"])
    assert await refused(service.decide(hub, principal=stranger, approval_id=req.id,
                                        approve=True, input_hash=req.input_hash)) == \
        "approval_not_found"
    assert await refused(service.get_approval(hub, workspace_id=stranger.workspace_id,
                                              approval_id=req.id)) == "approval_not_found"
    assert "approval.refused" in await actions(hub, stranger.workspace_id)
    assert (await request_of(hub, rid)).status == "pending"


async def test_a_tampered_stored_input_never_runs(hub: Hub, owner: identity.Principal) -> None:
    ann = await person(hub, owner, "ann@example.com", "admin")
    rid = await start(hub, owner, [echo("send", value=1, approval={})])
    await drive(hub, rid)
    req = await request_of(hub, rid)
    await service.decide(hub, principal=ann, approval_id=req.id, approve=True,
                         input_hash=req.input_hash)
    forged = hub.payloads.encode(owner.workspace_id, {"label": "send", "value": 1000})
    async with hub.db.write() as conn:
        await conn.execute(approval_requests.update().where(
            approval_requests.c.id == req.id).values(input=forged))
    row = await drive(hub, rid)
    assert row.status == "failed" and row.error["code"] == "approval_input_changed"
    assert calls(rid) == []
    assert "approval.input_mismatch" in await actions(hub, owner.workspace_id)


async def test_cancelled_waiting_run_closes_its_request(hub: Hub,
                                                       owner: identity.Principal) -> None:
    from hub.services import runs as runs_svc

    ann = await person(hub, owner, "ann@example.com", "admin")
    rid = await start(hub, owner, [echo("send", approval={})])
    await drive(hub, rid)
    await runs_svc.cancel_run(hub, workspace_id=owner.workspace_id, run_id=rid)
    req = await request_of(hub, rid)
    assert req.status == "cancelled"
    assert await refused(service.decide(hub, principal=ann, approval_id=req.id, approve=True,
                                        input_hash=req.input_hash)) == "approval_closed"
    from hub.services import zaps as zaps_svc

    other = await start(hub, owner, [echo("send", approval={})], name="z2")
    await drive(hub, other)
    zap_id = (await request_of(hub, other)).zap_id
    await zaps_svc.delete_zap(hub, workspace_id=owner.workspace_id, zap_id=zap_id)
    req = await request_of(hub, other)
    assert await refused(service.decide(hub, principal=ann, approval_id=req.id, approve=True,
                                        input_hash=req.input_hash)) == "approval_closed"
