"""The dashboard (``GET /``) and the sign-in page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.services import runs as run_service
from hub.services import zaps as zap_service
from hub.ui.auth import PageUser
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    ws = who.workspace_id
    counts = await run_service.workspace_counts(hub, workspace_id=ws)
    zaps = await zap_service.list_zaps(hub, workspace_id=ws)
    recent = await run_service.list_runs(hub, workspace_id=ws, limit=10)
    return render(request, "dashboard.html", counts=counts, zaps=zaps, runs=recent["items"],
                  zap_names={z["id"]: z["name"] for z in zaps})
