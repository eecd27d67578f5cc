"""Runs: the list with filters (zap, status, time) and the run detail."""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field

from hub.errors import BadRequest
from hub.metrics import RUN_STATUSES
from hub.services import runs as run_service
from hub.services import zaps as zap_service
from hub.ui.auth import PageUser, page_needs
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)
#: The time filter's choices: label → seconds back from now.
PERIODS = {"": None, "1h": 3600, "24h": 86400, "7d": 7 * 86400, "30d": 30 * 86400}
PAGE_SIZE = 50


class RunFilters(BaseModel):
    """The run list's query string (every value bounded; unknown values are a 400)."""

    zap: str = Field("", max_length=64)
    status: str = Field("", max_length=16)
    period: str = Field("", max_length=8)
    cursor: str = Field("", max_length=64)


@router.get("/runs", dependencies=[page_needs("runs.read")])
async def run_list(request: Request, hub: HubDep, who: PageUser,
                   filters: Annotated[RunFilters, Query()]) -> HTMLResponse:
    if filters.period not in PERIODS:
        raise BadRequest(f"unknown period '{filters.period}'", code="invalid_filter")
    back = PERIODS[filters.period]
    ws = who.workspace_id
    zaps = await zap_service.list_zaps(hub, workspace_id=ws)
    query = run_service.RunQuery(filters.zap or None, filters.status or None, PAGE_SIZE,
                                 filters.cursor or None, time.time() - back if back else None)
    found = await run_service.find_runs(hub, workspace_id=ws, query=query)
    return render(request, "runs.html", runs=found["items"], next_cursor=found["next_cursor"],
                  zaps=zaps, zap_names={z["id"]: z["name"] for z in zaps},
                  statuses=RUN_STATUSES, periods=list(PERIODS),
                  chosen=filters)
