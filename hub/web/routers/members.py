"""/api/v1/invitations, password reset links and /api/v1/workspaces."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.services import invites, workspaces
from hub.services.identity import Principal
from hub.services.passwords import MAX_LENGTH
from hub.web.deps import PUBLIC, HubDep, need
from hub.web.routers.auth import EMAIL, set_session_cookie, signed_in
from hub.web.routers.identity import Role

router = APIRouter(prefix="/api/v1", tags=["people"])
Manager = Annotated[Principal, need("members.manage")]
Member = Annotated[Principal, need("tokens.own")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Invite(_In):
    email: str = Field(min_length=3, max_length=320, pattern=EMAIL)
    role: Role = "viewer"


class Accept(_In):
    token: str = Field(min_length=1, max_length=200, description="From the invitation link.")
    password: str = Field(min_length=1, max_length=MAX_LENGTH,
                          description="A new password, or yours if you already have one.")
    name: str = Field("", max_length=200)


class Reset(_In):
    token: str = Field(min_length=1, max_length=200, description="From the reset link.")
    password: str = Field(min_length=1, max_length=MAX_LENGTH)


class WorkspaceName(_In):
    name: str = Field(min_length=1, max_length=200)


@router.post("/invitations", status_code=201)
async def invite(body: Invite, hub: HubDep, who: Manager) -> dict[str, Any]:
    """Invite someone by e-mail with a role (not above yours); the answer holds the
    single-use link (valid 7 days), shown only now."""
    return await invites.invite(hub, actor=who, email=body.email, role=body.role)


@router.get("/invitations")
async def list_invitations(hub: HubDep, who: Manager) -> list[dict[str, Any]]:
    """Pending invitations."""
    return await invites.list_invitations(hub, actor=who)


@router.delete("/invitations/{invitation_id}", status_code=204)
async def revoke_invitation(invitation_id: str, hub: HubDep, who: Manager) -> Response:
    """Withdraw a pending invitation: its link stops working."""
    await invites.revoke_invitation(hub, actor=who, invitation_id=invitation_id)
    return Response(status_code=204)


@router.post("/invitations/accept", dependencies=[PUBLIC])
async def accept(body: Accept, response: Response, hub: HubDep) -> dict[str, Any]:
    """Accept an invitation (once): join the workspace and sign in."""
    signed = await invites.accept(hub, token=body.token, password=body.password,
                                  name=body.name)
    set_session_cookie(response, signed, hub.settings)
    return signed_in(signed)


@router.post("/users/{user_id}/password-reset", status_code=201)
async def reset_link(user_id: str, hub: HubDep, who: Member) -> dict[str, Any]:
    """A single-use password reset link (24 h) for yourself or, for admins, a member."""
    return await invites.reset_link(hub, actor=who, user_id=user_id)


@router.post("/auth/password-reset", status_code=204, dependencies=[PUBLIC])
async def reset_password(body: Reset, hub: HubDep) -> Response:
    """Use a reset link: set the new password; every session of that person ends."""
    await invites.reset_password(hub, token=body.token, password=body.password)
    return Response(status_code=204)


@router.get("/workspaces")
async def list_workspaces(hub: HubDep, who: Member) -> list[dict[str, Any]]:
    """Your workspaces and your role in each."""
    return await workspaces.list_workspaces(hub, actor=who)


@router.post("/workspaces", status_code=201)
async def create_workspace(body: WorkspaceName, hub: HubDep,
                           who: Annotated[Principal, need("workspace.create")]
                           ) -> dict[str, Any]:
    """Create a workspace that you own."""
    return await workspaces.create_workspace(hub, actor=who, name=body.name)


@router.patch("/workspace")
async def rename_workspace(body: WorkspaceName, hub: HubDep,
                           who: Annotated[Principal, need("workspace.manage")]
                           ) -> dict[str, Any]:
    """Rename the current workspace."""
    return await workspaces.rename_workspace(hub, actor=who, name=body.name)
