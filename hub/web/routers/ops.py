"""/healthz, /metrics and /api/v1/plugins."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST

from hub.services.plugins import describe_plugins
from hub.services.runs import status_counts
from hub.web.deps import PUBLIC, HubDep, Viewer
from hub.web.problems import problem

router = APIRouter(tags=["ops"])


@router.get("/healthz", dependencies=[PUBLIC])
async def healthz(hub: HubDep) -> Any:
    """Liveness and database reachability."""
    try:
        async with hub.db.read() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception:  # noqa: BLE001 - report unhealthy, never the error text
        return problem(503, "database_unavailable", "the database does not answer")
    worker = hub.worker is not None
    return {"status": "ok", "database": "ok", "worker": worker}


@router.get("/metrics", dependencies=[PUBLIC])
async def metrics(hub: HubDep) -> Response:
    """Prometheus text: runs by status, queue depth, step durations, API errors."""
    counts, depth = await status_counts(hub)
    return Response(hub.metrics.render(counts, depth), media_type=CONTENT_TYPE_LATEST)


@router.get("/api/v1/plugins", tags=["plugins"])
async def plugins(hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """Loaded plugins, their versions and what each registered."""
    return describe_plugins(hub.pm, hub.registry)
