"""Approvals: list, show, approve or reject with a comment; every refusal is audited.

A decision is one row per person (N-of-M counts distinct people). Enough approvals, or one
rejection, close the request and queue its run again; the engine then runs the step with the
approved input or ends the run ``rejected``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub import audit
from hub.approvals import links
from hub.approvals.access import can_decide, is_approver
from hub.approvals.policy import load_policy
from hub.approvals.tables import approval_decisions, approval_requests
from hub.audit import Actor, Entry
from hub.errors import Conflict, Forbidden, HubError, NotFound
from hub.services.identity import Principal
from hub.store.tables import runs, users, zap_versions

if TYPE_CHECKING:
    from hub.context import Hub

STATUSES = ("pending", "approved", "rejected", "expired", "cancelled")


@dataclass(frozen=True)
class _Ask:
    approval_id: str
    approve: bool
    comment: str
    input_hash: str | None


def actor_of(principal: Principal) -> Actor:
    return principal.actor


def _summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "run_id": row.run_id, "zap_id": row.zap_id, "step_id": row.step_id,
            "action": row.action, "status": row.status, "input_hash": row.input_hash,
            "approvers": row.approvers, "min_approvals": row.min_approvals,
            "on_timeout": row.on_timeout, "reasons": row.rules, "created_at": row.created_at,
            "expires_at": row.expires_at, "decided_at": row.decided_at}


async def list_approvals(hub: Hub, *, workspace_id: str, status: str | None = None,
                         limit: int = 50, cursor: str | None = None) -> dict[str, Any]:
    """Newest first; ``next_cursor`` gives the next page."""
    c = approval_requests.c
    query = sa.select(*[col for col in approval_requests.c
                        if col.name not in ("input", "context")]).where(
        c.workspace_id == workspace_id)
    if status:
        query = query.where(c.status == status)
    if cursor:
        query = query.where(c.id < cursor)
    async with hub.db.read() as conn:
        rows = (await conn.execute(query.order_by(c.id.desc()).limit(limit + 1))).all()
    items = [_summary(r) for r in rows[:limit]]
    return {"items": items, "next_cursor": items[-1]["id"] if len(rows) > limit else None}


async def _row(conn: Any, workspace_id: str, approval_id: str) -> Any:
    row = (await conn.execute(sa.select(approval_requests).where(
        approval_requests.c.id == approval_id,
        approval_requests.c.workspace_id == workspace_id))).first()
    if row is None:
        raise NotFound(f"no approval '{approval_id}'", code="approval_not_found")
    return row


async def get_approval(hub: Hub, *, workspace_id: str, approval_id: str) -> dict[str, Any]:
    """What will run (the action and its rendered input), what led to it, the decisions."""
    from hub.services.run_view import open_view

    view = await open_view(hub, workspace_id)
    async with hub.db.read() as conn:
        row = await _row(conn, workspace_id, approval_id)
        decisions = (await conn.execute(sa.select(approval_decisions).where(
            approval_decisions.c.approval_id == approval_id).order_by(
            approval_decisions.c.at))).all()
    where = f"approval_requests {approval_id}"
    return view.finish({
        **_summary(row), "input": view.payload(row.input, f"{where} input"),
        "context": view.payload(row.context, f"{where} context"),
        "decisions": [{"user_id": d.user_id, "decision": d.decision, "comment": d.comment,
                       "input_hash": d.input_hash, "at": d.at} for d in decisions]})


async def _refused(hub: Hub, principal: Principal, approval_id: str, exc: HubError) -> None:
    """Record a refused decision (its own transaction: the refused change rolled back)."""
    async with hub.db.write() as conn:
        await audit.append(conn, [Entry(principal.workspace_id, "approval.refused",
                                        actor_of(principal), "approval", approval_id[:128],
                                        data={"code": exc.code})])


async def decide(hub: Hub, *, principal: Principal, approval_id: str, approve: bool,
                 comment: str = "", input_hash: str | None = None) -> dict[str, Any]:
    """Approve or reject; refusals have stable codes and are audited."""
    try:
        async with hub.db.write() as conn:
            out = await _decide(conn, hub, principal,
                                _Ask(approval_id, approve, comment, input_hash))
    except HubError as exc:
        await _refused(hub, principal, approval_id, exc)
        raise
    if out["status"] != "pending":
        hub.wake()
    return out


async def _check(conn: Any, hub: Hub, principal: Principal, row: Any,
                 input_hash: str | None, approve: bool) -> None:
    if row.status != "pending":
        raise Conflict(f"the approval is already {row.status}", code="approval_closed")
    run_status = (await conn.execute(sa.select(runs.c.status).where(
        runs.c.id == row.run_id))).scalar()
    if run_status != "waiting":  # e.g. cancelled, or its zap deleted
        raise Conflict(f"the run is {run_status}", code="approval_closed")
    if time.time() >= row.expires_at:
        raise Conflict("the approval timed out", code="approval_expired")
    if approve and input_hash != row.input_hash:
        raise Conflict("the input changed since you saw it (input_hash differs); show the "
                       "approval again", code="approval_input_changed")
    email = (await conn.execute(sa.select(users.c.email).where(
        users.c.id == principal.user_id))).scalar()
    if not can_decide(principal) or not is_approver(principal, row.approvers, email):
        raise Forbidden("you are not an approver of this step", code="not_an_approver")
    mine = (await conn.execute(sa.select(approval_decisions.c.decision).where(
        approval_decisions.c.approval_id == row.id,
        approval_decisions.c.user_id == principal.user_id))).first()
    if mine is not None:
        raise Conflict("you already decided on this approval", code="approval_already_decided")
    policy = await load_policy(hub.db, row.workspace_id)
    if not policy.allow_self_approval and principal.user_id in await _involved(conn, row):
        raise Forbidden("whoever started the run or last edited the zap cannot approve it",
                        code="self_approval_forbidden")


async def _involved(conn: Any, row: Any) -> set[str]:
    """The run's starter and the zap's last editor (separation of duties)."""
    starter = (await conn.execute(sa.select(runs.c.started_by).where(
        runs.c.id == row.run_id))).scalar()
    editor = (await conn.execute(sa.select(zap_versions.c.created_by).where(
        zap_versions.c.zap_id == row.zap_id).order_by(
        zap_versions.c.version.desc()).limit(1))).scalar()
    return {p for p in (starter, editor) if p}


async def _decide(conn: Any, hub: Hub, principal: Principal, ask: _Ask) -> dict[str, Any]:
    row = await _row(conn, principal.workspace_id, ask.approval_id)
    approve, comment = ask.approve, ask.comment
    await _check(conn, hub, principal, row, ask.input_hash, approve)
    now = time.time()
    await conn.execute(approval_decisions.insert().values(
        approval_id=row.id, user_id=principal.user_id, workspace_id=row.workspace_id,
        decision="approve" if approve else "reject", comment=comment,
        input_hash=row.input_hash, at=now))
    approvals = (await conn.execute(sa.select(sa.func.count()).select_from(
        approval_decisions).where(approval_decisions.c.approval_id == row.id,
                                  approval_decisions.c.decision == "approve"))).scalar_one()
    status = "rejected" if not approve else (
        "approved" if approvals >= row.min_approvals else "pending")
    if status != "pending":
        await conn.execute(approval_requests.update().where(
            approval_requests.c.id == row.id).values(status=status, decided_at=now))
        await conn.execute(runs.update().where(
            runs.c.id == row.run_id, runs.c.status == "waiting").values(due_at=now))
    await audit.append(conn, [Entry(
        row.workspace_id, "approval.approved" if approve else "approval.rejected",
        actor_of(principal), "approval", row.id, row.run_id,
        data={"step_id": row.step_id, "action": row.action, "input_hash": row.input_hash,
              "comment": comment[:500], "approvals": approvals,
              "min_approvals": row.min_approvals, "status": status})])
    return {**_summary(row), "status": status, "approvals": approvals,
            "decided_at": now if status != "pending" else None}


async def link_summary(hub: Hub, *, approval_id: str, exp: int, kid: str,
                       sig: str) -> dict[str, Any]:
    """What a signed link shows without signing in: no input, no context (sign in for those)."""
    links.check(hub.settings, hub.secrets, approval_id, exp, kid, sig)
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(approval_requests).where(
            approval_requests.c.id == approval_id))).first()
    if row is None:
        raise NotFound(f"no approval '{approval_id}'", code="approval_not_found")
    return {k: v for k, v in _summary(row).items()
            if k in ("id", "step_id", "action", "status", "expires_at", "min_approvals")}
