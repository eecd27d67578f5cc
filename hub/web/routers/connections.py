"""/api/v1/connections: create, list, show (masked), update, test again, delete; and
/api/v1/vault/settings: the workspace's payload encryption at rest (admins)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.services import connections as service
from hub.vault import payloads
from hub.web.deps import Admin, Editor, HubDep, Viewer

router = APIRouter(prefix="/api/v1/connections", tags=["connections"])
vault_router = APIRouter(prefix="/api/v1/vault", tags=["vault"])


class CreateConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    connector: str = Field(min_length=1, max_length=64, description="A registered connector.")
    name: str = Field(min_length=1, max_length=200, description="Unique in the workspace.")
    values: dict[str, Any] = Field(default_factory=dict,
                                   description="Fields of the connector's credentials model.")


class UpdateConnection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any] = Field(description="Fields to change; the others are kept.")


@router.post("", status_code=201)
async def create_connection(body: CreateConnection, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Check the credentials with the connector, then store them encrypted. Secret fields
    come back masked; failures carry ``invalid_auth``, ``cannot_connect`` or ``unknown``."""
    return await service.create_connection(hub, workspace_id=who.workspace_id,
                                           connector=body.connector, name=body.name,
                                           values=body.values)


@router.get("")
async def list_connections(hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """The workspace's connections (no field values)."""
    return await service.list_connections(hub, workspace_id=who.workspace_id)


@router.get("/{connection}")
async def get_connection(connection: str, hub: HubDep, who: Viewer) -> dict[str, Any]:
    """A connection by id or name, with its fields; secret fields are masked."""
    return await service.get_connection(hub, workspace_id=who.workspace_id,
                                        connection_id=connection)


@router.patch("/{connection}")
async def update_connection(connection: str, body: UpdateConnection, hub: HubDep,
                            who: Editor) -> dict[str, Any]:
    """Change some fields; the merged credentials are checked before they are stored."""
    return await service.update_connection(hub, workspace_id=who.workspace_id,
                                           connection_id=connection, values=body.values)


@router.post("/{connection}/test")
async def test_connection(connection: str, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Run the connector's check again: ``{ok, code, message}``."""
    return await service.test_connection(hub, workspace_id=who.workspace_id,
                                         connection_id=connection)


@router.delete("/{connection}", status_code=204)
async def delete_connection(connection: str, hub: HubDep, who: Editor) -> Response:
    """Delete a connection; refused (``connection_in_use``) while a zap uses it."""
    await service.delete_connection(hub, workspace_id=who.workspace_id,
                                    connection_id=connection)
    return Response(status_code=204)


class VaultSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    encrypt_payloads: bool = Field(description="Encrypt run payloads (trigger data, step "
                                   "inputs and outputs) at rest. Applies to new payloads.")


@vault_router.get("/settings")
async def get_vault_settings(hub: HubDep, who: Admin) -> dict[str, Any]:
    """The workspace's vault settings; ``refresh_seconds``: how long other hub processes may
    keep using the previous value after a change."""
    return await payloads.get_settings(hub, workspace_id=who.workspace_id)


@vault_router.put("/settings")
async def put_vault_settings(body: VaultSettings, hub: HubDep, who: Admin) -> dict[str, Any]:
    """Turn payload encryption at rest on or off. This process applies it at once; other
    processes within ``refresh_seconds``. Existing payloads stay readable either way."""
    await payloads.set_encryption(hub, workspace_id=who.workspace_id,
                                  enabled=body.encrypt_payloads)
    return await payloads.get_settings(hub, workspace_id=who.workspace_id)
