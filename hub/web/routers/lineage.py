"""/api/v1/runs/{id}/lineage and /api/v1/runs/{id}/sensitive: how a run came about, and the
sealed originals of what its guardrails redacted or blocked."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from hub.approvals.sensitive import view_originals
from hub.services.identity import Principal
from hub.services.lineage import lineage
from hub.web.deps import HubDep, need

router = APIRouter(prefix="/api/v1/runs", tags=["runs"])
Reader = Annotated[Principal, need("runs.read")]
Sensitive = Annotated[Principal, need("view_sensitive")]


@router.get("/{run_id}/lineage")
async def get_lineage(run_id: str, hub: HubDep, who: Reader) -> dict[str, Any]:
    """In one answer: the trigger event, each step attempt with its model decision and
    guardrail verdicts, the model calls, the approvals and their decisions, the outcome, and
    the run's audit records."""
    return await lineage(hub, workspace_id=who.workspace_id, run_id=run_id)


@router.get("/{run_id}/sensitive")
async def get_sensitive(run_id: str, hub: HubDep, who: Sensitive) -> dict[str, Any]:
    """The originals of inputs the guardrails redacted or blocked (``view_sensitive``: owners
    and admins by default). Every call is recorded in the audit trail."""
    return await view_originals(hub, principal=who, run_id=run_id)
