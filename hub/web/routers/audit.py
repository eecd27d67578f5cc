"""/api/v1/audit: the workspace's audit trail (admins): list with filters, verify, export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from hub import audit
from hub.audit.chain import canonical
from hub.web.deps import Admin, HubDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def _filters(action: str | None, actor_id: str | None, target_type: str | None,
             target_id: str | None, run_id: str | None, since: float | None,
             until: float | None) -> dict[str, Any]:
    return {"action": action, "actor_id": actor_id, "target_type": target_type,
            "target_id": target_id, "run_id": run_id, "since": since, "until": until}


@router.get("")
async def list_audit(hub: HubDep, who: Admin,
                     action: str | None = Query(None, max_length=64,
                                                description="e.g. `zap.updated` or `zap.*`"),
                     actor_id: str | None = Query(None, max_length=64),
                     target_type: str | None = Query(None, max_length=32),
                     target_id: str | None = Query(None, max_length=128),
                     run_id: str | None = Query(None, max_length=64),
                     since: float | None = Query(None, description="UNIX seconds"),
                     until: float | None = Query(None, description="UNIX seconds"),
                     limit: int = Query(50, ge=1, le=200),
                     cursor: int | None = Query(None, ge=1)) -> dict[str, Any]:
    """Audit records, newest first; pass ``next_cursor`` back as ``cursor``."""
    filters = _filters(action, actor_id, target_type, target_id, run_id, since, until)
    async with hub.db.read() as conn:
        return await audit.list_records(conn, who.workspace_id, limit=limit, cursor=cursor,
                                        filters=filters)


@router.post("/verify")
async def verify(hub: HubDep, who: Admin) -> dict[str, Any]:
    """Recompute the workspace's hash chain; names the first broken record if any."""
    verdict = (await audit.verify_all(hub.db, [who.workspace_id]))[0]
    return verdict.as_dict()


@router.get("/export")
async def export(hub: HubDep, who: Admin, since: float | None = Query(None),
                 until: float | None = Query(None),
                 action: str | None = Query(None, max_length=64)) -> StreamingResponse:
    """Every matching record, oldest first, as JSON lines (one record per line)."""
    filters = _filters(action, None, None, None, None, since, until)

    async def lines() -> AsyncIterator[bytes]:
        async for record in audit.export(hub.db, who.workspace_id, filters):
            yield (canonical(record) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
