"""/api/v1/me, /api/v1/users and /api/v1/tokens: who is calling, people, API tokens."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.services import identity as service
from hub.services import people
from hub.web.deps import HubDep, Member, need

router = APIRouter(prefix="/api/v1", tags=["identity"])
Role = Literal["viewer", "approver", "editor", "admin", "owner"]
Manager = Annotated[service.Principal, need("members.manage")]
MembersReader = Annotated[service.Principal, need("members.read")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewUser(_In):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    role: Role = "viewer"
    name: str = Field("", max_length=200)


class RoleChange(_In):
    role: Role


class NewToken(_In):
    name: str = Field(min_length=1, max_length=200)
    user_id: str | None = Field(None, max_length=64,
                                description="Default: yourself (admins only for others).")
    expires_in: float | None = Field(None, gt=0, le=10 * 365 * 86400, description="Seconds.")
    read_only: bool = Field(False, description="Only reads, whatever the user's role.")
    zaps: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=100, description="Only these zaps (ids) and their runs.")


@router.get("/me")
async def me(who: Member) -> dict[str, Any]:
    """The caller's workspace, user and role."""
    return {"workspace_id": who.workspace_id, "user_id": who.user_id, "role": who.role,
            "token_id": who.token_id}


@router.get("/users")
async def list_users(hub: HubDep, who: MembersReader) -> list[dict[str, Any]]:
    """People in the workspace."""
    return await people.list_users(hub, workspace_id=who.workspace_id)


@router.post("/users", status_code=201)
async def create_user(body: NewUser, hub: HubDep, who: Manager) -> dict[str, Any]:
    """Add a person with a role; the answer holds their first token, shown only once."""
    return await people.create_user(hub, actor=who, email=body.email, role=body.role,
                                     name=body.name)


@router.patch("/users/{user_id}")
async def set_role(user_id: str, body: RoleChange, hub: HubDep, who: Manager) -> dict[str, Any]:
    """Change a person's role (only owners grant or remove owner)."""
    return await people.set_role(hub, actor=who, user_id=user_id, role=body.role)


@router.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: str, hub: HubDep, who: Manager) -> Response:
    """Remove a person and revoke their tokens."""
    await people.delete_user(hub, actor=who, user_id=user_id)
    return Response(status_code=204)


@router.get("/tokens")
async def list_tokens(hub: HubDep, who: Member) -> list[dict[str, Any]]:
    """Tokens (yours; admins see the workspace's). Secrets are never shown again."""
    return await service.list_tokens(hub, actor=who)


@router.post("/tokens", status_code=201)
async def create_token(body: NewToken, hub: HubDep, who: Member) -> dict[str, Any]:
    """Create an API token; ``token`` in the answer is shown only this once."""
    scope = {"read_only": True} if body.read_only else {}
    if body.zaps is not None:
        scope["zaps"] = sorted(set(body.zaps))
    return await service.create_token(hub, actor=who, name=body.name, user_id=body.user_id,
                                      expires_in=body.expires_in, scope=scope or None)


@router.delete("/tokens/{token_id}", status_code=204)
async def revoke_token(token_id: str, hub: HubDep, who: Member) -> Response:
    """Revoke a token at once."""
    await service.revoke_token(hub, actor=who, token_id=token_id)
    return Response(status_code=204)
