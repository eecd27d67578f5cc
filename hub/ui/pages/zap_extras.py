"""Zap state and documents: enable/disable, versions with a diff, YAML export and import."""

from __future__ import annotations

import asyncio
import difflib

import yaml
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.errors import HubError, ZapInvalid
from hub.services import zaps as zap_service
from hub.ui.auth import PageUser, first, page_needs, read_form
from hub.ui.render import render
from hub.web.deps import HubDep
from hub.zaps import parse_document

router = APIRouter(include_in_schema=False)
MAX_DIFF_LINES = 2_000


@router.post("/zaps/{zap_id}/{action}", dependencies=[page_needs("zaps.write")])
async def toggle(zap_id: str, action: str, request: Request, hub: HubDep,
                 who: PageUser) -> Response:
    if action not in ("enable", "disable"):
        raise HubError("no such action", code="not_found", status=404)
    await read_form(request)
    await zap_service.set_enabled(hub, workspace_id=who.workspace_id, zap_id=zap_id[:64],
                                  enabled=action == "enable")
    return RedirectResponse(f"/zaps/{zap_id[:64]}", status_code=303)


@router.get("/zaps/{zap_id}/export", dependencies=[page_needs("zaps.read")])
async def export(zap_id: str, hub: HubDep, who: PageUser) -> Response:
    text = await zap_service.export_zap(hub, workspace_id=who.workspace_id, zap_id=zap_id[:64])
    return Response(text, media_type="application/yaml", headers={
        "Content-Disposition": f'attachment; filename="{zap_id[:64]}.yaml"'})


def _yaml(definition: dict) -> list[str]:  # type: ignore[type-arg]
    return yaml.safe_dump(definition, sort_keys=False, allow_unicode=True).splitlines()


@router.get("/zaps/{zap_id}/versions", dependencies=[page_needs("zaps.read")])
async def versions(zap_id: str, request: Request, hub: HubDep, who: PageUser,
                   a: int | None = None, b: int | None = None) -> HTMLResponse:
    ws, zid = who.workspace_id, zap_id[:64]
    zap = await zap_service.get_zap(hub, workspace_id=ws, zap_id=zid)
    listed = await zap_service.list_versions(hub, workspace_id=ws, zap_id=zid)
    newest = listed[0]["version"]
    a, b = a or max(newest - 1, 1), b or newest
    left = await zap_service.get_version(hub, workspace_id=ws, zap_id=zid, version=a)
    right = await zap_service.get_version(hub, workspace_id=ws, zap_id=zid, version=b)
    diff = list(difflib.unified_diff(_yaml(left["definition"]), _yaml(right["definition"]),
                                     f"version {a}", f"version {b}", lineterm=""))
    return render(request, "versions.html", zap=zap, versions=listed, a=a, b=b,
                  diff=diff[:MAX_DIFF_LINES])


@router.get("/zaps-import", dependencies=[page_needs("zaps.write")])
async def import_form(request: Request, who: PageUser) -> HTMLResponse:
    return render(request, "import.html", text="", errors=[])


@router.post("/zaps-import", dependencies=[page_needs("zaps.write")])
async def import_post(request: Request, hub: HubDep, who: PageUser) -> Response:
    text = first(await read_form(request), "document")
    limits = {"max_bytes": hub.settings.api_max_body, "max_depth": hub.settings.max_json_depth}
    try:
        doc = await asyncio.to_thread(parse_document, text.encode(), "yaml", **limits)
        zap, _ = await zap_service.import_zap(hub, workspace_id=who.workspace_id,
                                              document=doc, user_id=who.user_id)
    except ZapInvalid as exc:
        return render(request, "import.html", status=422, text=text, errors=exc.errors)
    except HubError as exc:
        return render(request, "import.html", status=exc.status, text=text,
                      errors=[{"path": exc.code, "message": exc.message}])
    return RedirectResponse(f"/zaps/{zap['id']}?saved={zap['version']}", status_code=303)
