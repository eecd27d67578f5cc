"""Request dependencies: the hub, the calling principal, role checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from hub import audit
from hub.context import Hub
from hub.services.identity import Principal, authenticate


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def current_principal(request: Request, hub: HubDep) -> Principal:
    """The caller; ``hub.web.apiguard`` has already authenticated every ``/api/v1`` request."""
    found = getattr(request.state, "principal", None)
    if not isinstance(found, Principal):
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        found = await authenticate(hub, token.strip() if scheme.lower() == "bearer" else None)
    audit.act_as(audit.Actor("user", found.user_id, found.token_id))
    return found


CurrentUser = Annotated[Principal, Depends(current_principal)]


def role(required: str):  # type: ignore[no-untyped-def]
    """A dependency that needs at least ``required``."""

    async def check(principal: CurrentUser) -> Principal:
        principal.require(required)
        return principal

    check.hub_role = required  # type: ignore[attr-defined] - read by hub.web.openapi
    return Depends(check)


Viewer = Annotated[Principal, role("viewer")]
Editor = Annotated[Principal, role("editor")]
Admin = Annotated[Principal, role("admin")]
