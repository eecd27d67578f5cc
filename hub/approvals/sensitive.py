"""Originals of AI inputs that guardrails redacted or blocked: stored sealed, apart from run
data (which keeps only the redacted form), shown only with ``view_sensitive``, each view
audited."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub import audit
from hub.approvals.access import can_view_sensitive
from hub.approvals.tables import sensitive_originals
from hub.errors import Forbidden, NotFound
from hub.ids import new_id
from hub.services.identity import Principal
from hub.store.tables import runs

if TYPE_CHECKING:
    from hub.context import Hub


def original_write(payloads: Any, row: dict[str, Any], outcome: str, value: Any) -> Any:
    """A checkpoint write storing ``value`` sealed for the step ``row`` (same transaction)."""
    values = {"id": new_id("sns"), "workspace_id": row["workspace_id"], "run_id": row["run_id"],
              "step_id": row["step_id"], "attempt": row["attempt"], "outcome": outcome,
              "data": payloads.seal(row["workspace_id"], value), "created_at": time.time()}

    async def write(conn: Any) -> None:
        await conn.execute(sensitive_originals.insert().values(**values))

    return write


async def sealed_steps(conn: Any, workspace_id: str, run_id: str) -> list[dict[str, Any]]:
    """Which attempts of a run have a sealed original (no content)."""
    c = sensitive_originals.c
    rows = await conn.execute(sa.select(c.id, c.step_id, c.attempt, c.outcome, c.created_at)
                              .where(c.workspace_id == workspace_id, c.run_id == run_id)
                              .order_by(c.created_at, c.id))
    return [dict(r._mapping) for r in rows]


async def sealed_values(hub: Hub, workspace_id: str, run_id: str) -> list[str]:
    """The texts guardrails redacted or blocked in the run's inputs: masked wherever else
    they appear in its data (trigger, later steps, result) when the run is shown."""
    c = sensitive_originals.c
    async with hub.db.read() as conn:
        blobs = list((await conn.execute(sa.select(c.data).where(
            c.workspace_id == workspace_id, c.run_id == run_id))).scalars())
    values: set[str] = set()
    for blob in blobs:
        try:
            values.update(hub.payloads.unseal(workspace_id, blob).get("values") or ())
        except Exception:  # noqa: BLE001 - an unreadable original hides nothing more
            continue
    return sorted(values)


async def view_originals(hub: Hub, *, principal: Principal, run_id: str) -> dict[str, Any]:
    """The sealed originals of a run's inputs; the view is audited in the same transaction."""
    if not can_view_sensitive(principal):
        raise Forbidden("seeing the originals of redacted or blocked inputs needs the "
                        "view_sensitive permission", code="insufficient_role")
    ws = principal.workspace_id
    await hub.payloads.prepare(ws)
    c = sensitive_originals.c
    async with hub.db.write() as conn:
        found = (await conn.execute(sa.select(runs.c.id).where(
            runs.c.id == run_id, runs.c.workspace_id == ws))).first()
        if found is None:
            raise NotFound(f"no run '{run_id}'", code="run_not_found")
        rows = (await conn.execute(sa.select(sensitive_originals).where(
            c.workspace_id == ws, c.run_id == run_id).order_by(c.created_at, c.id))).all()
        await audit.append(conn, [audit.Entry(ws, "sensitive.viewed", principal.actor, "run",
                                              run_id, run_id,
                                              data={"originals": [r.id for r in rows]})])
    return {"run_id": run_id, "items": [
        {"id": r.id, "step_id": r.step_id, "attempt": r.attempt, "outcome": r.outcome,
         "input": hub.payloads.unseal(ws, r.data)["input"], "created_at": r.created_at}
        for r in rows]}
