"""Workspaces: list yours, create one (you own it), rename the current one."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.ai.baseline import insert_baseline
from hub.audit.chain import Entry, append
from hub.errors import Conflict
from hub.services.identity import Principal, insert_membership, insert_workspace
from hub.store.tables import memberships, workspaces

if TYPE_CHECKING:
    from hub.context import Hub

#: workspaces one person may own (each costs rows, a guardrail policy and an audit chain)
MAX_OWNED = 50


async def list_workspaces(hub: Hub, *, actor: Principal) -> list[dict[str, Any]]:
    """The caller's workspaces with their role in each."""
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(
            workspaces.c.id, workspaces.c.name, workspaces.c.created_at,
            memberships.c.role).join(memberships, memberships.c.workspace_id == workspaces.c.id)
            .where(memberships.c.user_id == actor.user_id).order_by(workspaces.c.created_at))
        return [{"id": r.id, "name": r.name, "role": r.role, "created_at": r.created_at,
                 "current": r.id == actor.workspace_id} for r in rows]


async def create_workspace(hub: Hub, *, actor: Principal, name: str) -> dict[str, Any]:
    """A new workspace owned by the caller (switch to it to work there)."""
    actor.require("workspace.create")
    async with hub.db.write() as conn:
        owned = (await conn.execute(sa.select(sa.func.count()).select_from(memberships).where(
            memberships.c.user_id == actor.user_id, memberships.c.role == "owner"))).scalar()
        if owned >= MAX_OWNED:
            raise Conflict(f"you own {MAX_OWNED} workspaces, the most one person may",
                           code="too_many_workspaces")
        ws = await insert_workspace(conn, name)
        await insert_membership(conn, ws, actor.user_id, "owner")
        await insert_baseline(conn, ws, hub.registry.guardrails, actor.user_id)
        await append(conn, [Entry(ws, "workspace.created", actor.actor,
                                  target_type="workspace", target_id=ws,
                                  data={"name": name})])
    return {"id": ws, "name": name, "role": "owner"}


async def rename_workspace(hub: Hub, *, actor: Principal, name: str) -> dict[str, Any]:
    actor.require("workspace.manage")
    async with hub.db.write() as conn:
        old = (await conn.execute(sa.select(workspaces.c.name).where(
            workspaces.c.id == actor.workspace_id))).scalar_one()
        await conn.execute(workspaces.update().where(workspaces.c.id == actor.workspace_id)
                           .values(name=name))
        await append(conn, [Entry(actor.workspace_id, "workspace.renamed", actor.actor,
                                  target_type="workspace", target_id=actor.workspace_id,
                                  data={"from": old, "to": name})])
    return {"id": actor.workspace_id, "name": name}
