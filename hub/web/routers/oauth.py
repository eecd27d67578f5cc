"""OAuth2 connections: start the authorization-code flow; the provider's public callback."""

from __future__ import annotations

import html
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, Field, SecretStr

from hub import oauth as service
from hub.errors import BadRequest
from hub.web.deps import PUBLIC, Editor, HubDep

router = APIRouter(tags=["oauth"])


class StartBody(BaseModel):
    connector: str = Field(max_length=64, description="An OAuth2 connector's key.")
    name: str = Field(max_length=200, description="Name of the connection to create.")
    client_id: str = Field(max_length=500, description="The OAuth app's client id.")
    client_secret: SecretStr = Field(description="The OAuth app's client secret.")


@router.post("/api/v1/oauth/start")
async def start(body: StartBody, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Begin connecting: returns ``authorize_url`` to open in a browser (valid 10 minutes)."""
    return await service.start(hub, workspace_id=who.workspace_id, connector=body.connector,
                               name=body.name, client_id=body.client_id,
                               client_secret=body.client_secret.get_secret_value())


DONE_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>zaphub: connected</title>
</head><body><p>Connection <b>{name}</b> connected; you can close this window.</p></body></html>
"""


@router.get(service.CALLBACK_PATH, response_model=None, dependencies=[PUBLIC])
async def callback(request: Request, hub: HubDep, code: str | None = None,
                   state: str | None = None, error: str | None = None
                   ) -> dict[str, Any] | HTMLResponse:
    """Where the provider sends the browser back; stores the tokens in the connection.
    Answers a short HTML page when the client asks for ``text/html`` (a browser), else JSON."""
    if error:
        raise BadRequest(f"the provider did not authorise the connection: {error[:100]}",
                         code="oauth_denied")
    if not code or not state:
        raise BadRequest("code and state are required", code="oauth_state_invalid")
    done = await service.finish(hub, code=code, state=state)
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(DONE_PAGE.format(name=html.escape(str(done.get("name", "")))))
    return done
