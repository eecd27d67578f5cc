"""Who may use a connection: restricted to roles, to named zaps, or to zaps owned by people
with a role (e.g. only finance editors' zaps may use the finance Stripe connection).

A policy holds up to three lists; each one given must admit the use (no policy: anyone):

- ``roles``: the role of the person saving the zap, and at run time of the person the run
  acts for (``runs.started_by``);
- ``zaps``: zap ids or names;
- ``owner_roles``: the role of the zap's owner (who saved the version that runs).

Saving a zap that uses a connection it may not use is refused (``connection_forbidden``); a
run checks again before the step uses the connection, so a policy changed since fails the
step with the same code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field

from hub.ai.tables import ai_models
from hub.audit.chain import Entry, append
from hub.errors import Forbidden, HubError, NotFound
from hub.services.identity import Principal
from hub.store.tables import memberships, runs, zap_versions, zaps
from hub.vault.tables import connections

if TYPE_CHECKING:
    from hub.context import Hub

Role = Literal["viewer", "approver", "editor", "admin", "owner"]


class ConnectionPolicy(BaseModel):
    """Who may use a connection (each list given must admit the use)."""

    model_config = ConfigDict(extra="forbid")

    roles: list[Role] | None = Field(None, max_length=5, description="Roles that may use it.")
    zaps: list[str] | None = Field(None, max_length=200,
                                   description="Zap ids or names that may use it.")
    owner_roles: list[Role] | None = Field(
        None, max_length=5, description="Only zaps whose owner has one of these roles.")


def refusal(policy: dict[str, Any] | None, *, zap: tuple[str, str], role: str | None,
            owner_role: str | None) -> str | None:
    """Why ``policy`` refuses the use (``None``: allowed). ``zap`` is (id, name); a ``None``
    role is the operator's (database access), which role lists do not restrict."""
    if not policy:
        return None
    if policy.get("zaps") is not None and not set(zap) & set(policy["zaps"]):
        return f"zap '{zap[1]}' is not one of the zaps it is restricted to"
    if policy.get("roles") is not None and role is not None and role not in policy["roles"]:
        return f"the {role} role may not use it"
    owners = policy.get("owner_roles")
    if owners is not None and owner_role is not None and owner_role not in owners:
        return f"zaps owned by a {owner_role} may not use it"
    return None


def names_used(definition: dict[str, Any]) -> set[str]:
    """Connections a zap definition names (its trigger's and its steps')."""
    trigger = (definition.get("trigger") or {}).get("config") or {}
    found = {trigger.get("connection")} | {s.get("connection")
                                           for s in definition.get("steps", [])}
    return {n for n in found if isinstance(n, str) and n}


async def check_zap(conn: Any, *, workspace_id: str, zap: tuple[str, str],
                    definition: dict[str, Any], role: str | None) -> None:
    """Refuse to save a zap that uses a connection its policy forbids, or whose webhook
    names a signing-secret connection that does not exist."""
    names = names_used(definition)
    rows = {r.name: r for r in await conn.execute(sa.select(
        connections.c.name, connections.c.policy).where(
        connections.c.workspace_id == workspace_id, connections.c.name.in_(names)))}
    trigger = definition.get("trigger") or {}
    secret = (trigger.get("config") or {}).get("connection")
    if trigger.get("kind") == "webhook" and secret and secret not in rows:
        raise HubError(f"the webhook names connection '{secret}', which does not exist",
                       code="connection_not_found", status=422)
    for name in sorted(names & set(rows)):
        why = refusal(rows[name].policy, zap=zap, role=role, owner_role=role)
        if why:
            raise Forbidden(f"connection '{name}' is restricted: {why}",
                            code="connection_forbidden", extra={"connection": name})


async def _role(conn: Any, workspace_id: str, user_id: str | None) -> str | None:
    if user_id is None:
        return None
    role = (await conn.execute(sa.select(memberships.c.role).where(
        memberships.c.workspace_id == workspace_id,
        memberships.c.user_id == user_id))).scalar()
    return str(role) if role else "none"  # someone who left the workspace has no role


async def check_run(conn: Any, *, workspace_id: str, run_id: str, name: str,
                    policy: dict[str, Any] | None) -> None:
    """Refuse a run's use of connection ``name`` when its policy (as it is now) forbids it."""
    if not policy:
        return
    run = (await conn.execute(sa.select(
        runs.c.zap_id, runs.c.started_by, zaps.c.name, zap_versions.c.created_by).join(
        zaps, zaps.c.id == runs.c.zap_id).join(zap_versions, sa.and_(
            zap_versions.c.zap_id == runs.c.zap_id,
            zap_versions.c.version == runs.c.zap_version)).where(
        runs.c.id == run_id, runs.c.workspace_id == workspace_id))).first()
    if run is None:
        return
    why = refusal(policy, zap=(run.zap_id, run.name),
                  role=await _role(conn, workspace_id, run.started_by),
                  owner_role=await _role(conn, workspace_id, run.created_by))
    if why:
        raise Forbidden(f"connection '{name}' is restricted: {why}",
                        code="connection_forbidden")


async def consumers(conn: Any, workspace_id: str, name: str) -> dict[str, list[str]]:
    """What uses connection ``name``: live zaps (current version) and AI model entries."""
    rows = await conn.execute(sa.select(zaps.c.name, zap_versions.c.definition).join(
        zap_versions, sa.and_(zap_versions.c.zap_id == zaps.c.id,
                              zap_versions.c.version == zaps.c.current_version),
    ).where(zaps.c.workspace_id == workspace_id, zaps.c.deleted_at.is_(None)))
    models = await conn.execute(sa.select(ai_models.c.name).where(
        ai_models.c.workspace_id == workspace_id, ai_models.c.connection == name))
    return {"zaps": sorted(r.name for r in rows if name in names_used(r.definition)),
            "models": sorted(models.scalars())}


async def set_policy(hub: Hub, *, actor: Principal, connection: str,
                     policy: ConnectionPolicy) -> dict[str, Any]:
    """Replace the policy of a connection (by id or name); an empty policy lifts it."""
    actor.require("admin")
    value = policy.model_dump(exclude_none=True) or None
    async with hub.db.write() as conn:
        row = (await conn.execute(sa.select(connections.c.id, connections.c.name).where(
            connections.c.workspace_id == actor.workspace_id,
            sa.or_(connections.c.id == connection, connections.c.name == connection)))).first()
        if row is None:
            raise NotFound(f"no connection '{connection}'", code="connection_not_found")
        await conn.execute(connections.update().where(connections.c.id == row.id).values(
            policy=value))
        await append(conn, [Entry(actor.workspace_id, "connection.policy_changed",
                                  actor.actor, target_type="connection", target_id=row.id,
                                  data={"name": row.name, "policy": value})])
    return {"connection": row.name, "policy": value}
