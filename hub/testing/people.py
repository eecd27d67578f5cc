"""Test helpers for identities: an owner's API token without going through the setup link."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from hub.services.identity import bootstrap, operator_token
from hub.store.tables import memberships, users, workspaces

if TYPE_CHECKING:
    from hub.context import Hub


async def owner_token(hub: Hub) -> str:
    """Create the first workspace if the database is empty, then return a new API token of
    the first workspace's first owner."""
    await bootstrap(hub)
    query = sa.select(memberships.c.workspace_id, users.c.email).join(
        users, users.c.id == memberships.c.user_id).join(
        workspaces, workspaces.c.id == memberships.c.workspace_id).where(
        memberships.c.role == "owner").order_by(workspaces.c.created_at,
                                                 memberships.c.created_at).limit(1)
    async with hub.db.read() as conn:
        row = (await conn.execute(query)).one()
    return await operator_token(hub, email=row.email, workspace_id=row.workspace_id,
                                name="test")
