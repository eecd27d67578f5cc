"""The approval gate before a step's side effect.

A step that needs approval (its ``approval:`` or a workspace rule) gets an approval request
holding its fully rendered input and that input's hash; the run goes ``waiting`` with
``due_at`` at the request's expiry and holds no worker. A decision (``hub.approvals.service``)
queues the run again; so does the expiry (the claim takes due ``waiting`` runs), and the gate
then applies ``on_timeout``. An approved step runs with exactly the stored input, after its hash
is checked against the request and every approval.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hub.approvals import links
from hub.approvals.policy import load_policy
from hub.approvals.rules import Requirement, ai_sources, input_hash, requirement
from hub.approvals.tables import approval_decisions, approval_requests
from hub.audit import SYSTEM, Entry
from hub.errors import HubError
from hub.expressions import evaluate_condition
from hub.ids import new_id

INPUT_CHANGED = "approval_input_changed"
REJECTED = "approval_rejected"
TIMED_OUT = "approval_timed_out"


@dataclass
class Approved:
    """Run the step with ``input``: the input the approvers saw."""

    input: Any
    approval_id: str


async def gate(ex: Any, cs: Any) -> Approved | str | None:
    """``None``: no approval needed; ``Approved``: go on; a status: the run stops here."""
    run = ex.run
    if run.claims > 1 or run.round > 0:  # resumed: a request made earlier decides
        row = await _find(ex, cs)
        if row is not None:
            return await _resume(ex, cs, row)
    policy = await load_policy(ex.hub.db, run.workspace_id)
    if cs.step.approval is None and not policy.rules:
        return None
    try:
        if cs.when is not None and not evaluate_condition(cs.when, ex.ctx):
            return None
        rendered = cs.input.render(ex.ctx)
        cs.action.Input.model_validate(rendered)
    except Exception:  # noqa: BLE001 - the attempt itself reports the error
        return None
    governed = {s.step.id for s in ex.cz.steps if getattr(s.action, "governed", False)}
    from_ai = ai_sources(cs, governed)
    req = requirement(cs, policy, rendered, from_ai)
    if req is None:
        return None
    return await _request(ex, cs, req, rendered, (from_ai, governed))


async def _find(ex: Any, cs: Any) -> Any:
    c = approval_requests.c
    async with ex.hub.db.read() as conn:
        return (await conn.execute(sa.select(approval_requests).where(
            c.run_id == ex.run.id, c.step_id == cs.step.id, c.round == ex.run.round))).first()


def _context(ex: Any, from_ai: list[str], governed: set[str]) -> dict[str, Any]:
    """What led to the step: the trigger event and the AI steps' outputs, model decisions and
    guardrail verdicts (those the input reads first)."""
    done = [sid for sid in ex.ctx["steps"] if sid in governed]
    ai = []
    for sid in sorted(done, key=lambda s: (s not in from_ai, done.index(s))):
        out = ex.ctx["steps"][sid]
        meta = out if isinstance(out, dict) else {}
        ai.append({"step_id": sid, "read_by_step": sid in from_ai, "output": out,
                   "model": meta.get("model"), "decision": meta.get("decision"),
                   "verdicts": meta.get("governance") or []})
    return {"trigger": ex.ctx["trigger"], "ai": ai}


async def _request(ex: Any, cs: Any, req: Requirement, rendered: Any,
                   ai: tuple[list[str], set[str]]) -> str:
    run, spec = ex.run, req.spec
    now = time.time()
    aid, expires = new_id("apr"), now + spec.timeout
    digest = input_hash(rendered)
    row = {"id": aid, "workspace_id": run.workspace_id, "run_id": run.id, "zap_id": run.zap_id,
           "step_id": cs.step.id, "round": run.round, "action": cs.step.use,
           "status": "pending", "input": ex._encode(rendered), "input_hash": digest,
           "context": ex._encode(_context(ex, *ai)), "rules": req.reasons,
           "approvers": spec.approvers, "min_approvals": spec.min_approvals,
           "on_timeout": spec.on_timeout, "created_at": now, "expires_at": expires}
    entries = [Entry(run.workspace_id, "approval.requested", SYSTEM, "approval", aid, run.id,
                     data={"step_id": cs.step.id, "action": cs.step.use, "input_hash": digest,
                           "reasons": req.reasons, "approvers": spec.approvers,
                           "min_approvals": spec.min_approvals, "expires_at": expires,
                           "ai_steps": ai[0]})]
    entries += await _notify(ex, cs, aid, expires)

    async def write(conn: Any) -> None:
        await conn.execute(approval_requests.insert().values(**row))

    await ex._checkpoint(writes=[write], entries=entries, run_update={
        "status": "waiting", "due_at": expires, "lease_owner": None, "stalled_claims": 0})
    ex.hub.emit({"type": "approval.requested", "workspace_id": run.workspace_id,
                 "run_id": run.id, "zap_id": run.zap_id, "approval_id": aid,
                 "step_id": cs.step.id})
    return "waiting"


async def _notify(ex: Any, cs: Any, aid: str, expires: float) -> list[Entry]:
    """Run the step's ``approval.notify`` actions; their outcomes are audited, a failure
    does not stop the request."""
    from hub.engine.steps import run_attempt
    from hub.vault.engine import step_credentials

    if not cs.notify:
        return []
    hub, run = ex.hub, ex.run
    url = links.sign(hub.settings, hub.secrets, aid, expires)
    info = {"id": aid, "url": url, "step": cs.step.id, "action": cs.step.use,
            "expires_at": expires}
    ctx = {**ex.ctx, "vars": {**(ex.ctx.get("vars") or {}), "approval": info}}
    entries = []
    for ncs in cs.notify:
        await ex.fence(run.id)
        try:
            creds = await step_credentials(hub, run.workspace_id, ncs)
            att = await run_attempt(ncs, hub.registry, ctx, ex._step_context(ncs, creds, None),
                                    time.time())
            error = att.error
        except HubError as exc:
            error = {"code": exc.code}
        entries.append(Entry(run.workspace_id, "approval.notified", SYSTEM, "approval", aid,
                             run.id, data={"action": ncs.step.use,
                                           "connection": ncs.step.connection,
                                           "idempotency_key": f"{run.id}:{ncs.step.id}",
                                           "outcome": (error or {}).get("code", "ok")}))
    return entries


async def _resume(ex: Any, cs: Any, row: Any) -> Approved | str:
    if row.status == "pending" and time.time() < row.expires_at:  # woken early: park again
        await ex._checkpoint(run_update={
            "status": "waiting", "due_at": row.expires_at, "lease_owner": None,
            "stalled_claims": 0})
        return "waiting"
    if row.status == "pending":
        return await _timed_out(ex, cs, row)
    if row.status == "approved":
        return await _approved(ex, cs, row)
    if row.status == "cancelled":
        return await ex._finish("cancelled", None)
    return await _reject(ex, cs, row, REJECTED, "the approval was rejected")


def _set_status(row: Any, status: str) -> Any:
    async def write(conn: Any) -> None:
        await conn.execute(approval_requests.update().where(
            approval_requests.c.id == row.id, approval_requests.c.status == "pending").values(
            status=status, decided_at=time.time()))
    return write


async def _timed_out(ex: Any, cs: Any, row: Any) -> Approved | str:
    run = ex.run
    entry = Entry(run.workspace_id, "approval.timed_out", SYSTEM, "approval", row.id, run.id,
                  data={"step_id": cs.step.id, "on_timeout": row.on_timeout})
    if row.on_timeout == "approve":
        async def system_approves(conn: Any) -> None:
            await conn.execute(approval_decisions.insert().values(
                approval_id=row.id, user_id="system", workspace_id=run.workspace_id,
                decision="approve", comment="approved by timeout", input_hash=row.input_hash,
                at=time.time()))

        await ex._checkpoint(writes=[_set_status(row, "approved"),
                                                       system_approves], entries=[entry])
        return await _approved(ex, cs, row)
    return await _reject(ex, cs, row, TIMED_OUT, "nobody decided before the approval timed "
                         "out", writes=[_set_status(row, "expired")], entries=[entry])


async def _reject(ex: Any, cs: Any, row: Any, code: str, message: str, **extra: Any) -> str:
    error = {"code": code, "message": message, "step_id": cs.step.id, "approval_id": row.id}
    return await ex._finish("rejected", None, error=error, **extra)


async def _approved(ex: Any, cs: Any, row: Any) -> Approved | str:
    """The stored input, once its hash matches the request's and every approval's."""
    async with ex.hub.db.read() as conn:
        hashes = set((await conn.execute(sa.select(approval_decisions.c.input_hash).where(
            approval_decisions.c.approval_id == row.id,
            approval_decisions.c.decision == "approve"))).scalars())
    value = ex._decode(row.input)
    if input_hash(value) != row.input_hash or hashes - {row.input_hash} or not hashes:
        error = {"code": INPUT_CHANGED, "message": "the input to run is not the input that "
                 "was approved", "step_id": cs.step.id, "approval_id": row.id}
        entry = Entry(ex.run.workspace_id, "approval.input_mismatch", SYSTEM, "approval",
                      row.id, ex.run.id, data={"step_id": cs.step.id})
        return await ex._finish("failed", None, error=error, entries=[entry])
    return Approved(value, row.id)
