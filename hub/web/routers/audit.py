"""/api/v1/audit: the workspace's audit trail (admins): list with filters, verify, export."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hub import audit
from hub.audit.chain import canonical
from hub.web.deps import Admin, HubDep

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


class AuditFilter(BaseModel):
    """Which records: every given field must match."""

    model_config = ConfigDict(extra="forbid")

    action: str | None = Field(None, max_length=64, description="`zap.updated`, or `zap.*`.")
    actor_id: str | None = Field(None, max_length=64, description="A user or token id.")
    target_type: str | None = Field(None, max_length=32, description="e.g. `zap`, `run`.")
    target_id: str | None = Field(None, max_length=128)
    run_id: str | None = Field(None, max_length=64)
    since: float | None = Field(None, description="UNIX seconds, inclusive.")
    until: float | None = Field(None, description="UNIX seconds, exclusive.")


class AuditPage(AuditFilter):
    limit: int = Field(50, ge=1, le=200)
    cursor: int | None = Field(None, ge=1, description="`next_cursor` of the previous page.")


@router.get("")
async def list_audit(hub: HubDep, who: Admin,
                     query: Annotated[AuditPage, Query()]) -> dict[str, Any]:
    """Audit records, newest first; pass ``next_cursor`` back as ``cursor``."""
    filters = query.model_dump(exclude={"limit", "cursor"})
    async with hub.db.read() as conn:
        return await audit.list_records(conn, who.workspace_id, limit=query.limit,
                                        cursor=query.cursor, filters=filters)


@router.post("/verify")
async def verify(hub: HubDep, who: Admin) -> dict[str, Any]:
    """Recompute the workspace's hash chain; names the first broken record if any."""
    verdict = (await audit.verify_all(hub.db, [who.workspace_id]))[0]
    return verdict.as_dict()


@router.get("/export")
async def export(hub: HubDep, who: Admin,
                 query: Annotated[AuditFilter, Query()]) -> StreamingResponse:
    """Every matching record, oldest first, as JSON lines (one record per line)."""
    filters = query.model_dump()

    async def lines() -> AsyncIterator[bytes]:
        async for record in audit.export(hub.db, who.workspace_id, filters):
            yield (canonical(record) + "\n").encode()

    return StreamingResponse(lines(), media_type="application/x-ndjson")
