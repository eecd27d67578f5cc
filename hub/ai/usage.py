"""Accounting: one row per model call; sums per step, run, zap and workspace, per day and month;
budgets checked before a model is called; Prometheus counters."""

from __future__ import annotations

import time
import weakref
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from prometheus_client import Counter

from hub import audit
from hub.ai.config import Budget, Snapshot
from hub.ai.tables import ai_usage
from hub.errors import BadRequest, StepError
from hub.ids import new_id

if TYPE_CHECKING:
    from hub.context import Hub

_METRICS: weakref.WeakKeyDictionary[Any, dict[str, Counter]] = weakref.WeakKeyDictionary()


def metrics(hub: Hub) -> dict[str, Counter]:
    """The AI counters, registered once on the hub's metrics registry."""
    found = _METRICS.get(hub)
    if found is None:
        reg, labels = hub.metrics.registry, ["workspace", "model", "outcome"]
        found = _METRICS[hub] = {
            "calls": Counter("hub_ai_calls", "Model calls", labels, registry=reg),
            "input_tokens": Counter("hub_ai_input_tokens", "Input tokens", labels, registry=reg),
            "output_tokens": Counter("hub_ai_output_tokens", "Output tokens", labels,
                                     registry=reg),
            "cost": Counter("hub_ai_cost", "Model cost (price unit of the entries)", labels,
                            registry=reg)}
    return found


def periods(now: float) -> tuple[str, str]:
    day = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%d")
    return day, day[:7]


async def record(hub: Hub, row: dict[str, Any], decision: dict[str, Any] | None = None) -> None:
    """Store one call (``row`` has workspace, run, zap, step, model, provider, outcome, usage)
    and audit it with the routing ``decision`` (policy, fallback) in the same transaction."""
    now = time.time()
    day, month = periods(now)
    entry = audit.Entry(row["workspace_id"], "model.called", audit.SYSTEM, "step",
                        row["step_id"], row["run_id"], data={
                            **{k: row[k] for k in ("model", "provider", "outcome",
                                                   "input_tokens", "output_tokens", "cost")},
                            **(decision or {})})
    async with hub.db.write() as conn:
        await conn.execute(ai_usage.insert().values(id=new_id("aiu"), created_at=now, day=day,
                                                    month=month, **row))
        await audit.append(conn, [entry])
    labels = {"workspace": row["workspace_id"], "model": row["model"], "outcome": row["outcome"]}
    m = metrics(hub)
    m["calls"].labels(**labels).inc()
    m["input_tokens"].labels(**labels).inc(row["input_tokens"])
    m["output_tokens"].labels(**labels).inc(row["output_tokens"])
    m["cost"].labels(**labels).inc(row["cost"])


def _sums() -> tuple[Any, ...]:
    return (sa.func.coalesce(sa.func.sum(ai_usage.c.input_tokens), 0),
            sa.func.coalesce(sa.func.sum(ai_usage.c.output_tokens), 0),
            sa.func.coalesce(sa.func.sum(ai_usage.c.cost), 0.0))


async def run_cost(hub: Hub, run_id: str) -> float:
    async with hub.db.read() as conn:
        return float((await conn.execute(sa.select(_sums()[2]).where(
            ai_usage.c.run_id == run_id))).scalar_one())


async def check_budgets(hub: Hub, snap: Snapshot, *, workspace_id: str, zap_id: str) -> None:
    """Raise ``budget_exceeded`` when a workspace or zap budget of this period is used up."""
    budgets = [b for b in snap.settings.budgets if b.scope == "workspace" or b.zap_id == zap_id]
    if not budgets:
        return
    day, month = periods(time.time())
    for b in budgets:
        where = [ai_usage.c.workspace_id == workspace_id]
        where.append(ai_usage.c.day == day if b.period == "day" else ai_usage.c.month == month)
        if b.scope == "zap":
            where.append(ai_usage.c.zap_id == zap_id)
        async with hub.db.read() as conn:
            tin, tout, cost = (await conn.execute(sa.select(*_sums()).where(*where))).one()
        _over(b, int(tin) + int(tout), float(cost))


def _over(b: Budget, tokens: int, cost: float) -> None:
    what = "workspace" if b.scope == "workspace" else f"zap {b.zap_id}"
    if b.max_cost is not None and cost >= b.max_cost:
        raise StepError(f"the {what} {b.period}ly AI budget is used up ({cost:g} of "
                        f"{b.max_cost:g})", code="budget_exceeded", retryable=False,
                        extra={"scope": b.scope, "period": b.period})
    if b.max_tokens is not None and tokens >= b.max_tokens:
        raise StepError(f"the {what} {b.period}ly token budget is used up ({tokens} of "
                        f"{b.max_tokens})", code="budget_exceeded", retryable=False,
                        extra={"scope": b.scope, "period": b.period})


GROUPS = {"model": ai_usage.c.model, "zap": ai_usage.c.zap_id, "run": ai_usage.c.run_id,
          "step": ai_usage.c.step_id, "day": ai_usage.c.day, "month": ai_usage.c.month}


async def summary(hub: Hub, *, workspace_id: str, period: str | None = None,
                  group_by: str | None = None, zap_id: str | None = None,
                  run_id: str | None = None) -> dict[str, Any]:
    """Tokens and cost for the workspace, optionally for one period (``2026-11`` or
    ``2026-11-25``), one zap or run, grouped by model, zap, run, step, day or month."""
    where = [ai_usage.c.workspace_id == workspace_id]
    if period:
        col = ai_usage.c.day if len(period) == 10 else ai_usage.c.month
        if len(period) not in (7, 10):
            raise BadRequest("period is YYYY-MM or YYYY-MM-DD", code="invalid_filter")
        where.append(col == period)
    if zap_id:
        where.append(ai_usage.c.zap_id == zap_id)
    if run_id:
        where.append(ai_usage.c.run_id == run_id)
    if group_by is not None and group_by not in GROUPS:
        raise BadRequest(f"group_by is one of {', '.join(GROUPS)}", code="invalid_filter")
    cols = [*_sums(), sa.func.count()]
    async with hub.db.read() as conn:
        total = (await conn.execute(sa.select(*cols).where(*where))).one()
        groups = []
        if group_by:
            key = GROUPS[group_by]
            groups = (await conn.execute(sa.select(key, *cols).where(*where).group_by(key)
                                         .order_by(key))).all()
    return {"total": _totals(total),
            "groups": [{group_by: g[0], **_totals(g[1:])} for g in groups] if group_by else []}


def _totals(row: Any) -> dict[str, Any]:
    return {"input_tokens": int(row[0]), "output_tokens": int(row[1]),
            "cost": round(float(row[2]), 8), "calls": int(row[3])}
