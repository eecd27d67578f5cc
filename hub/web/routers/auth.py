"""/api/v1/auth and /api/v1/setup: signing in with e-mail and password, sessions, first start."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.services import auth as service
from hub.services.passwords import MAX_LENGTH
from hub.settings import Settings
from hub.web import csrf
from hub.web.deps import PUBLIC, HubDep, Member

router = APIRouter(prefix="/api/v1", tags=["auth"])
EMAIL = r"^[^@\s]+@[^@\s]+$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Login(_In):
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    workspace_id: str | None = Field(None, max_length=64,
                                     description="Default: your first workspace.")


class Setup(_In):
    token: str = Field(min_length=1, max_length=200, description="From the setup link.")
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    password: str = Field(min_length=1, max_length=MAX_LENGTH)
    name: str = Field("", max_length=200)


class Switch(_In):
    workspace_id: str = Field(min_length=1, max_length=64)


def set_session_cookie(response: Response, signed: service.SignedIn, settings: Settings) -> None:
    secure = (settings.public_url or "").lower().startswith("https://")
    response.set_cookie(csrf.COOKIE, signed.cookie, max_age=int(settings.session_ttl),
                        httponly=True, samesite="lax", secure=secure, path="/")


def signed_in(signed: service.SignedIn) -> dict[str, Any]:
    return {"user_id": signed.user_id, "workspace_id": signed.workspace_id,
            "expires_at": signed.expires_at, "csrf_token": csrf.token_for(signed.cookie)}


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.post("/auth/login", dependencies=[PUBLIC])
async def login(body: Login, request: Request, response: Response,
                hub: HubDep) -> dict[str, Any]:
    """Sign in: sets the session cookie (HttpOnly); send ``csrf_token`` from the answer as
    the ``X-CSRF-Token`` header with every request that changes something. Wrong passwords
    are throttled per e-mail and address (``too_many_attempts``)."""
    signed = await service.sign_in(hub, email=body.email, password=body.password,
                                   address=_address(request), workspace_id=body.workspace_id)
    set_session_cookie(response, signed, hub.settings)
    return signed_in(signed)


@router.post("/auth/logout", status_code=204)
async def logout(hub: HubDep, who: Member) -> Response:
    """End the session (an API token is not affected: revoke it instead)."""
    if who.session_id:
        await service.sign_out(hub, session_id=who.session_id)
    response = Response(status_code=204)
    response.delete_cookie(csrf.COOKIE, path="/")
    return response


@router.get("/auth/me")
async def me(request: Request, hub: HubDep, who: Member) -> dict[str, Any]:
    """The caller: user, memberships, current workspace and role (and the CSRF token of a
    signed-in session)."""
    out = await service.whoami(hub, who=who)
    if who.session_id:
        out["csrf_token"] = csrf.token_for_request(request)
    return out


@router.post("/auth/workspace")
async def switch(body: Switch, hub: HubDep, who: Member) -> dict[str, Any]:
    """Move the signed-in session to another workspace you belong to."""
    return await service.switch_workspace(hub, who=who, workspace_id=body.workspace_id)


@router.post("/setup", dependencies=[PUBLIC])
async def setup(body: Setup, response: Response, hub: HubDep) -> dict[str, Any]:
    """First start: the setup link's token sets the owner's e-mail, name and password (once;
    ``link_used``/``link_expired`` after) and signs them in."""
    signed = await service.complete_setup(hub, token=body.token, email=body.email,
                                          password=body.password, name=body.name)
    set_session_cookie(response, signed, hub.settings)
    return signed_in(signed)
