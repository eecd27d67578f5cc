"""/api/v1/zaps: create, read, update, delete, versions, enable/disable, export, start runs."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from hub.context import Hub
from hub.errors import HubError
from hub.services import runs as run_service
from hub.services import zaps as service
from hub.web.deps import Editor, HubDep, Viewer
from hub.zaps import Zap, parse_document

router = APIRouter(prefix="/api/v1/zaps", tags=["zaps"])
_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/Zap"}},
    "application/yaml": {"schema": {"type": "string"}}}}}


async def _document(request: Request, hub: Hub) -> dict[str, Any]:
    """The zap document of the body, within ``HUB_API_MAX_BODY`` and ``HUB_MAX_JSON_DEPTH``
    (``hub.web.apiguard`` already capped the body; YAML is parsed on a worker thread)."""
    body = await request.body()
    limits = {"max_bytes": hub.settings.api_max_body, "max_depth": hub.settings.max_json_depth}
    ctype = request.headers.get("content-type", "application/json").split(";")[0].strip()
    if ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
        return await asyncio.to_thread(parse_document, body, "yaml", **limits)
    if ctype != "application/json":
        raise HubError(f"send the zap as application/json or application/yaml, not {ctype}",
                       code="unsupported_media_type", status=415)
    try:
        return parse_document(body, "json", **limits)
    except HubError as exc:
        if exc.code != "malformed_document":
            raise
        raise HubError("the request body is not valid JSON", code="malformed_json") from exc


@router.get("")
async def list_zaps(hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """List the workspace's zaps."""
    return await service.list_zaps(hub, workspace_id=who.workspace_id)


@router.post("", status_code=201, openapi_extra=_BODY)
async def create_zap(request: Request, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Create a zap from a JSON or YAML document; it is validated and stored as version 1."""
    doc = await _document(request, hub)
    return await service.create_zap(hub, workspace_id=who.workspace_id, document=doc,
                                    user_id=who.user_id, role=who.role)


@router.get("/{zap_id}")
async def get_zap(zap_id: str, hub: HubDep, who: Viewer) -> dict[str, Any]:
    """A zap with its current definition."""
    return await service.get_zap(hub, workspace_id=who.workspace_id, zap_id=zap_id)


@router.put("/{zap_id}", openapi_extra=_BODY)
async def update_zap(zap_id: str, request: Request, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Save a new immutable version of the zap; queued runs keep the version they pinned."""
    doc = await _document(request, hub)
    return await service.update_zap(hub, workspace_id=who.workspace_id, zap_id=zap_id,
                                    document=doc, user_id=who.user_id, role=who.role)


@router.delete("/{zap_id}", status_code=204)
async def delete_zap(zap_id: str, hub: HubDep, who: Editor) -> Response:
    """Delete the zap (its run history stays); queued runs are cancelled."""
    await service.delete_zap(hub, workspace_id=who.workspace_id, zap_id=zap_id)
    return Response(status_code=204)


@router.get("/{zap_id}/versions")
async def list_versions(zap_id: str, hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """Every saved version, newest first."""
    return await service.list_versions(hub, workspace_id=who.workspace_id, zap_id=zap_id)


@router.get("/{zap_id}/versions/{version}")
async def get_version(zap_id: str, version: int, hub: HubDep, who: Viewer) -> dict[str, Any]:
    """One saved version's definition."""
    return await service.get_version(hub, workspace_id=who.workspace_id, zap_id=zap_id,
                                     version=version)


@router.post("/{zap_id}/enable")
async def enable(zap_id: str, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Turn the zap on: its triggers start runs."""
    return await service.set_enabled(hub, workspace_id=who.workspace_id, zap_id=zap_id,
                                     enabled=True)


@router.post("/{zap_id}/disable")
async def disable(zap_id: str, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Turn the zap off: no new runs start; runs already queued still finish."""
    return await service.set_enabled(hub, workspace_id=who.workspace_id, zap_id=zap_id,
                                     enabled=False)


@router.get("/{zap_id}/export")
async def export(zap_id: str, hub: HubDep, who: Viewer,
                 format: Literal["yaml", "json"] = "yaml") -> Response:
    """The zap as a YAML or JSON document that imports back."""
    text = await service.export_zap(hub, workspace_id=who.workspace_id, zap_id=zap_id, fmt=format)
    media = "application/json" if format == "json" else "application/yaml"
    return Response(text, media_type=media)


class RunRequest(BaseModel):
    input: Any = Field(default_factory=dict, description="Becomes `trigger` in the run context.")


@router.post("/{zap_id}/runs", status_code=202)
async def start_run(zap_id: str, body: RunRequest, hub: HubDep, who: Editor, response: Response,
                    wait: float = Query(0, ge=0, le=300)) -> dict[str, Any]:
    """Start a run with a JSON input (the manual trigger). With ``wait`` (seconds) the answer
    is the finished run when it ends in time."""
    run = await run_service.start_run(hub, workspace_id=who.workspace_id, zap_id=zap_id,
                                      data=body.input, started_by=who.user_id)
    if not wait:
        return run
    detail = await run_service.wait_for_run(hub, workspace_id=who.workspace_id,
                                            run_id=run["id"], timeout=wait)
    if detail["status"] in run_service.FINAL:
        response.status_code = 200
    return detail


def zap_schema() -> dict[str, Any]:
    """The zap document's JSON Schema (also what `hub zaps schema` prints)."""
    return Zap.model_json_schema()
