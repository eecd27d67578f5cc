"""/api/v1/connections/{connection}/policy: who may use a connection."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter

from hub.services import connection_policy as service
from hub.services.identity import Principal
from hub.web.deps import HubDep, need

router = APIRouter(prefix="/api/v1/connections", tags=["connections"])


@router.put("/{connection}/policy")
async def put_policy(connection: str, body: service.ConnectionPolicy, hub: HubDep,
                     who: Annotated[Principal, need("admin")]) -> dict[str, Any]:
    """Restrict the connection to roles, named zaps (ids or names) or zaps owned by people
    with a role; ``{}`` lifts the restriction. Saving a zap the policy forbids is refused
    (``connection_forbidden``) and runs check it again before each use."""
    return await service.set_policy(hub, actor=who, connection=connection, policy=body)
