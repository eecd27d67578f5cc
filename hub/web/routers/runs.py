"""/api/v1/runs: list with filters and cursor pagination, detail with steps, cancel, re-run."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from hub.services import runs as service
from hub.web.deps import Editor, HubDep, Viewer

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])


@router.get("")
async def list_runs(hub: HubDep, who: Viewer, zap_id: str | None = None,
                    status: str | None = None, limit: int = Query(50, ge=1, le=200),
                    cursor: str | None = Query(None, max_length=64)) -> dict[str, Any]:
    """Runs, newest first. Pass ``next_cursor`` back as ``cursor`` for the next page."""
    return await service.list_runs(hub, workspace_id=who.workspace_id, zap_id=zap_id,
                                   status=status, limit=limit, cursor=cursor)


@router.get("/{run_id}")
async def get_run(run_id: str, hub: HubDep, who: Viewer) -> dict[str, Any]:
    """A run with every step attempt: status, rendered input, output, error, timings."""
    return await service.get_run(hub, workspace_id=who.workspace_id, run_id=run_id)


@router.post("/{run_id}/cancel")
async def cancel(run_id: str, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Cancel a queued or waiting run, or ask the worker to stop a running one."""
    return await service.cancel_run(hub, workspace_id=who.workspace_id, run_id=run_id)


@router.post("/{run_id}/rerun", status_code=202)
async def rerun(run_id: str, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Queue a failed or cancelled run again from the step that did not finish."""
    return await service.rerun(hub, workspace_id=who.workspace_id, run_id=run_id,
                               started_by=who.user_id)
