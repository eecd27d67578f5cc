"""Zaps: the list, and the builder."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from hub.services import zaps as zap_service
from hub.ui.auth import PageUser
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)


@router.get("/zaps", response_class=HTMLResponse)
async def zap_list(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    zaps = await zap_service.list_zaps(hub, workspace_id=who.workspace_id)
    return render(request, "zaps.html", zaps=zaps)
