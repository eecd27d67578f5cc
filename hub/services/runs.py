"""Runs: start, list (cursor pagination), inspect, cancel, re-run, wait."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub import audit
from hub.approvals.sensitive import sealed_values
from hub.approvals.tables import approval_requests
from hub.audit import Entry
from hub.errors import BadRequest, Conflict, HubError, NotFound
from hub.ids import id_floor, new_id
from hub.metrics import RUN_STATUSES
from hub.services.run_view import open_view
from hub.store.tables import run_steps, runs, users, zap_versions, zaps

if TYPE_CHECKING:
    from hub.context import Hub

FINAL = ("succeeded", "failed", "filtered", "cancelled", "rejected")
RERUNNABLE = ("failed", "cancelled")
MANUAL_INPUT_LIMIT = 1_048_576


async def start_run(hub: Hub, *, workspace_id: str, zap_id: str, data: Any,
                    source: str = "manual", started_by: str | None = None) -> dict[str, Any]:
    """Queue a run of the zap's current version with ``data`` as ``trigger``, acting for
    ``started_by`` (default: the zap's owner, who saved that version); audited as done by
    the current actor."""
    await hub.payloads.prepare(workspace_id)
    blob = hub.payloads.encode(workspace_id, data)
    if len(blob) > MANUAL_INPUT_LIMIT:
        raise HubError("run input is larger than 1 MiB", code="input_too_large", status=413)
    now = time.time()
    rid = new_id("run")
    async with hub.db.write() as conn:
        zap = (await conn.execute(sa.select(zaps.c.enabled, zaps.c.current_version).where(
            zaps.c.id == zap_id, zaps.c.workspace_id == workspace_id,
            zaps.c.deleted_at.is_(None)))).first()
        if zap is None:
            raise NotFound(f"no zap '{zap_id}'", code="zap_not_found")
        if not zap.enabled:
            raise Conflict("the zap is disabled; enable it to start runs", code="zap_disabled")
        await conn.execute(runs.insert().values(
            id=rid, workspace_id=workspace_id, zap_id=zap_id, zap_version=zap.current_version,
            status="queued", source=source, trigger_data=blob, created_at=now, due_at=now,
            started_by=started_by or zap_owner(zap_id, zap.current_version)))
        await audit.append(conn, [Entry(workspace_id, "run.created", audit.current_actor(),
                                        "zap", zap_id, rid, data={"source": source,
                                                                  "version": zap.current_version})])
    hub.wake()
    return {"id": rid, "zap_id": zap_id, "zap_version": zap.current_version, "status": "queued"}


@dataclass(frozen=True)
class RunQuery:
    """Which runs to list: filters and one page (``cursor``: the last id of the page before;
    ``since``: epoch seconds, runs created from then on, as ids sort by creation time)."""

    zap_id: str | None = None
    status: str | None = None
    limit: int = 50
    cursor: str | None = None
    since: float | None = None


async def list_runs(hub: Hub, *, workspace_id: str, zap_id: str | None = None,
                    status: str | None = None, limit: int = 50,
                    cursor: str | None = None) -> dict[str, Any]:
    """Newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    return await find_runs(hub, workspace_id=workspace_id,
                           query=RunQuery(zap_id, status, limit, cursor))


async def find_runs(hub: Hub, *, workspace_id: str, query: RunQuery) -> dict[str, Any]:
    """The runs ``query`` selects, newest first, with the ``next_cursor`` of the next page."""
    if query.status is not None and query.status not in RUN_STATUSES:
        raise BadRequest(f"unknown status '{query.status}'", code="invalid_filter")
    select = sa.select(*[c for c in runs.c if c.name != "trigger_data"]).where(
        runs.c.workspace_id == workspace_id)
    if query.zap_id:
        select = select.where(runs.c.zap_id == query.zap_id)
    if query.status:
        select = select.where(runs.c.status == query.status)
    if query.cursor:
        select = select.where(runs.c.id < query.cursor)
    if query.since is not None:
        select = select.where(runs.c.id >= id_floor("run", query.since))
    select = select.order_by(runs.c.id.desc()).limit(query.limit + 1)
    view = await open_view(hub, workspace_id, payloads=False)  # before the pooled connection
    async with hub.db.read() as conn:
        rows = (await conn.execute(select)).all()
    items = [view.run(r, full=False) for r in rows[:query.limit]]
    return view.finish({"items": items,
                        "next_cursor": items[-1]["id"] if len(rows) > query.limit else None})


async def get_run(hub: Hub, *, workspace_id: str, run_id: str) -> dict[str, Any]:
    """The run with every step attempt in order; unreadable payloads show as markers and the
    workspace's connection secrets are masked."""
    view = await open_view(hub, workspace_id)  # before the pooled connection: never nest
    view.hide(await sealed_values(hub, workspace_id, run_id))
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(runs).where(
            runs.c.id == run_id, runs.c.workspace_id == workspace_id))).first()
        if row is None:
            raise NotFound(f"no run '{run_id}'", code="run_not_found")
        steps = (await conn.execute(sa.select(run_steps).where(run_steps.c.run_id == run_id)
                                    .order_by(run_steps.c.seq))).all()
        by = (await conn.execute(sa.select(users.c.email).where(
            users.c.id == row.started_by))).scalar() if row.started_by else None
    return view.finish({**view.run(row, full=True), "started_by_email": by,
                        "steps": [view.step(s) for s in steps]})


async def _status(conn: Any, workspace_id: str, run_id: str) -> str:
    row = (await conn.execute(sa.select(runs.c.status).where(
        runs.c.id == run_id, runs.c.workspace_id == workspace_id))).first()
    if row is None:
        raise NotFound(f"no run '{run_id}'", code="run_not_found")
    return row.status


async def cancel_run(hub: Hub, *, workspace_id: str, run_id: str) -> dict[str, Any]:
    """Cancel a queued or waiting run now; ask the worker to stop a running one."""
    now = time.time()
    async with hub.db.write() as conn:
        status = await _status(conn, workspace_id, run_id)
        if status in FINAL:
            raise Conflict(f"the run is already {status}", code="run_not_cancellable")
        if status in ("queued", "waiting"):
            await conn.execute(runs.update().where(runs.c.id == run_id).values(
                status="cancelled", finished_at=now, due_at=now, lease_owner=None))
            await _wake_parent(conn, run_id, now)
            await conn.execute(approval_requests.update().where(
                approval_requests.c.run_id == run_id,
                approval_requests.c.status == "pending").values(status="cancelled",
                                                                decided_at=now))
        else:
            await conn.execute(runs.update().where(runs.c.id == run_id).values(
                cancel_requested=True))
    if status == "running" and hub.worker is not None:
        hub.worker.cancel_local(run_id, "cancel")
    return {"id": run_id, "status": "cancelled" if status != "running" else "cancelling"}


async def _wake_parent(conn: Any, run_id: str, now: float) -> None:
    """A run waiting for the cancelled one (``core.call_zap``) looks at it now."""
    parent = sa.select(runs.c.parent_run_id).where(runs.c.id == run_id).scalar_subquery()
    await conn.execute(runs.update().where(runs.c.id == parent, runs.c.status == "waiting")
                       .values(due_at=now))


async def rerun(hub: Hub, *, workspace_id: str, run_id: str,
                started_by: str | None = None) -> dict[str, Any]:
    """Queue a failed or cancelled run again from its first unfinished step (same version);
    it then acts for ``started_by`` when given."""
    async with hub.db.write() as conn:
        status = await _status(conn, workspace_id, run_id)
        if status not in RERUNNABLE:
            raise Conflict(f"only failed or cancelled runs can be re-run; this one is {status}",
                           code="run_not_rerunnable")
        await conn.execute(runs.update().where(runs.c.id == run_id).values(
            status="queued", due_at=time.time(), round=runs.c.round + 1, error=None,
            finished_at=None, cancel_requested=False, lease_owner=None,
            **({"started_by": started_by} if started_by else {})))
    hub.wake()
    return {"id": run_id, "status": "queued"}


async def wait_for_run(hub: Hub, *, workspace_id: str, run_id: str,
                       timeout: float) -> dict[str, Any]:
    """Wait until the run is final (or ``waiting``) or ``timeout`` passes; return its detail.

    The worker that ends the run wakes the wait (``Hub.run_ended``, across nodes on
    PostgreSQL); the status is also re-read now and then in case a wake-up is lost.
    """
    deadline = time.monotonic() + timeout
    delay = 0.005
    with hub.run_end_waiter(run_id) as ended:
        while True:
            async with hub.db.read() as conn:
                status = await _status(conn, workspace_id, run_id)
            left = deadline - time.monotonic()
            if status in FINAL or status == "waiting" or left <= 0:
                return await get_run(hub, workspace_id=workspace_id, run_id=run_id)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ended.wait(), min(delay, left))
            ended.clear()
            delay = min(delay * 2, 1.0 if hub.wakeups else 0.25)


async def status_counts(hub: Hub) -> tuple[dict[str, int], int]:
    """Runs per status (all workspaces) and the number queued and due now, for /metrics."""
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(runs.c.status, sa.func.count()).group_by(
            runs.c.status))
        counts = {r[0]: r[1] for r in rows}
        depth = (await conn.execute(sa.select(sa.func.count()).select_from(runs).where(
            runs.c.status == "queued", runs.c.due_at <= time.time()))).scalar()
    return counts, int(depth or 0)


async def zap_of_run(hub: Hub, *, workspace_id: str, run_id: str) -> str | None:
    """The zap a run of the workspace belongs to (``None``: no such run)."""
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(runs.c.zap_id).where(
            runs.c.id == run_id, runs.c.workspace_id == workspace_id))).scalar()


def zap_owner(zap_id: Any, version: Any) -> Any:
    """The zap's owner for a run of ``version``: who saved that version (SQL expression)."""
    return sa.select(zap_versions.c.created_by).where(
        zap_versions.c.zap_id == zap_id, zap_versions.c.version == version).scalar_subquery()


async def workspace_counts(hub: Hub, *, workspace_id: str) -> dict[str, int]:
    """The workspace's runs per status (for the dashboard)."""
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(runs.c.status, sa.func.count()).where(
            runs.c.workspace_id == workspace_id).group_by(runs.c.status))
        return {r[0]: r[1] for r in rows}
