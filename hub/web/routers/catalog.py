"""/api/v1/catalog: what the plugins registered, with the JSON Schemas forms are built from."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from hub.services.catalog import catalog_json
from hub.web.deps import HubDep, Viewer

router = APIRouter(prefix="/api/v1/catalog", tags=["plugins"])


@router.get("", responses={200: {"content": {"application/json": {}}}, 304: {}})
async def catalog(request: Request, hub: HubDep, who: Viewer) -> Response:
    """Every connector with its actions, poll triggers and credentials, plus trigger kinds,
    signature schemes, models and guardrails; each with key, title, description, owning
    plugin and the JSON Schema of its input, output, config or credentials (secret fields
    ``writeOnly`` with ``format: password``). Lists are sorted by key, fields keep their
    declaration order. The answer carries an ``ETag``; send it back in ``If-None-Match`` to
    get ``304 Not Modified``."""
    body, etag = catalog_json(hub.registry)
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
