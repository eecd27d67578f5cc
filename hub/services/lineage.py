"""A run's lineage in one answer: trigger event → steps → model decisions → guardrail
verdicts → approvals → action outcomes, with the audit records that witness them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub import audit
from hub.ai.tables import ai_usage
from hub.approvals.sensitive import sealed_steps, sealed_values
from hub.approvals.tables import approval_decisions, approval_requests
from hub.errors import NotFound
from hub.services.run_view import open_view
from hub.store.tables import run_steps, runs

if TYPE_CHECKING:
    from hub.context import Hub

AUDIT_LIMIT = 1000  # records of one run shown here; the audit API pages through the rest
_META = ("model", "decision", "usage", "governance")


def _step(view: Any, row: Any) -> dict[str, Any]:
    """One attempt: its outcome, and for AI steps the model decision and guardrail verdicts
    (from the output's hub-written fields; never the model's text)."""
    out = view.payload(row.output, f"run_steps {row.run_id} seq {row.seq} output")
    meta = {k: out.get(k) for k in _META if k in out} if isinstance(out, dict) else {}
    if not meta.get("governance") and isinstance(row.error, dict):
        meta["governance"] = row.error.get("governance")
    return {"step_id": row.step_id, "attempt": row.attempt, "round": row.round,
            "status": row.status, "idempotency_key": row.idempotency_key,
            "error_code": (row.error or {}).get("code"), "started_at": row.started_at,
            "finished_at": row.finished_at, "model": meta.get("model"),
            "decision": meta.get("decision"), "usage": meta.get("usage"),
            "verdicts": meta.get("governance") or []}


async def _approvals(conn: Any, run_id: str) -> list[dict[str, Any]]:
    a, d = approval_requests.c, approval_decisions.c
    rows = (await conn.execute(sa.select(
        a.id, a.step_id, a.action, a.status, a.input_hash, a.rules, a.created_at,
        a.expires_at, a.decided_at).where(a.run_id == run_id).order_by(a.created_at))).all()
    decisions = (await conn.execute(sa.select(
        d.approval_id, d.user_id, d.decision, d.comment, d.input_hash, d.at).where(
        d.approval_id.in_([r.id for r in rows])).order_by(d.at))).all() if rows else []
    return [{**dict(r._mapping), "decisions": [
        {k: v for k, v in dict(x._mapping).items() if k != "approval_id"}
        for x in decisions if x.approval_id == r.id]} for r in rows]


async def lineage(hub: Hub, *, workspace_id: str, run_id: str) -> dict[str, Any]:
    """Everything that led to the run's outcome, oldest first."""
    view = await open_view(hub, workspace_id)  # before the pooled connection: never nest
    view.hide(await sealed_values(hub, workspace_id, run_id))
    async with hub.db.read() as conn:
        run = (await conn.execute(sa.select(runs).where(
            runs.c.id == run_id, runs.c.workspace_id == workspace_id))).first()
        if run is None:
            raise NotFound(f"no run '{run_id}'", code="run_not_found")
        steps = (await conn.execute(sa.select(run_steps).where(
            run_steps.c.run_id == run_id).order_by(run_steps.c.seq))).all()
        calls = (await conn.execute(sa.select(
            ai_usage.c.step_id, ai_usage.c.model, ai_usage.c.provider, ai_usage.c.outcome,
            ai_usage.c.input_tokens, ai_usage.c.output_tokens, ai_usage.c.cost,
            ai_usage.c.latency_ms, ai_usage.c.created_at).where(
            ai_usage.c.run_id == run_id).order_by(ai_usage.c.created_at))).all()
        approvals = await _approvals(conn, run_id)
        sealed = await sealed_steps(conn, workspace_id, run_id)
        trail = await audit.list_records(conn, workspace_id, limit=AUDIT_LIMIT, cursor=None,
                                         filters={"run_id": run_id})
    summary = view.run(run, full=True)
    return view.finish({
        "run": {k: v for k, v in summary.items() if k not in ("trigger", "result")},
        "trigger": {"source": run.source, "data": summary["trigger"]},
        "steps": [_step(view, s) for s in steps],
        "model_calls": [dict(c._mapping) for c in calls],
        "approvals": approvals,
        "sealed_originals": sealed,
        "outcome": {"status": run.status, "error": run.error, "result": summary["result"]},
        "audit": list(reversed(trail["items"]))})
