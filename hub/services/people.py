"""People in a workspace: memberships and their roles.

A person (``users``) is global; a membership gives them a role in one workspace. Nobody grants,
changes or removes a role above their own, and a workspace always keeps an owner.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.audit.chain import Entry, append
from hub.errors import Conflict
from hub.services.identity import (
    Principal,
    insert_membership,
    insert_token,
    insert_user,
    member_role,
    normal_email,
)
from hub.store.tables import api_tokens, memberships, sessions, users

if TYPE_CHECKING:
    from hub.context import Hub


def _member_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "name": row.name, "role": row.role,
            "created_at": row.created_at}


def _members(workspace_id: str) -> sa.Select[Any]:
    return sa.select(users.c.id, users.c.email, users.c.name, memberships.c.role,
                     memberships.c.created_at).join(
        memberships, memberships.c.user_id == users.c.id).where(
        memberships.c.workspace_id == workspace_id)


async def list_users(hub: Hub, *, workspace_id: str) -> list[dict[str, Any]]:
    async with hub.db.read() as conn:
        rows = await conn.execute(_members(workspace_id).order_by(users.c.id))
        return [_member_dict(r) for r in rows]


async def find_user(conn: Any, email: str) -> Any:
    """The user row with ``email`` (compared case-insensitively), or ``None``."""
    return (await conn.execute(sa.select(users).where(
        users.c.email == normal_email(email)))).first()


async def add_member(conn: Any, *, actor: Principal, email: str, role: str,
                     name: str = "") -> str:
    """Make ``email`` a member (creating the person if new); refuse an existing member."""
    found = await find_user(conn, email)
    if found is None:
        uid = await insert_user(conn, email, name)
    else:
        uid = found.id
        exists = await conn.execute(sa.select(memberships.c.role).where(
            memberships.c.workspace_id == actor.workspace_id, memberships.c.user_id == uid))
        if exists.first():
            raise Conflict(f"a user with email '{normal_email(email)}' exists",
                           code="user_exists")
    await insert_membership(conn, actor.workspace_id, uid, role)
    return str(uid)


async def create_user(hub: Hub, *, actor: Principal, email: str, role: str,
                      name: str = "") -> dict[str, Any]:
    """Add a member and return them with a first token for this workspace (shown once)."""
    _check_grant(actor, role)
    async with hub.db.write() as conn:
        uid = await add_member(conn, actor=actor, email=email, role=role, name=name)
        tid, token = await insert_token(conn, actor.workspace_id, uid, "initial")
        row = (await conn.execute(_members(actor.workspace_id).where(users.c.id == uid))).one()
        await append(conn, [
            Entry(actor.workspace_id, "member.added", actor.actor, target_type="user",
                  target_id=uid, data={"role": role}),
            Entry(actor.workspace_id, "token.created", actor.actor, target_type="token",
                  target_id=tid, data={"name": "initial", "user_id": uid})])
    return {**_member_dict(row), "token": token}


def _check_grant(actor: Principal, role: str) -> None:
    actor.require("members.manage")
    actor.require_over(role, "grant the role to")


async def set_role(hub: Hub, *, actor: Principal, user_id: str, role: str) -> dict[str, Any]:
    """Change a member's role: nobody grants, or changes the role of, a role above their own."""
    _check_grant(actor, role)
    async with hub.db.write() as conn:
        old = await member_role(conn, actor.workspace_id, user_id)
        actor.require_over(old, "change the role of")
        if old == "owner" and role != "owner":
            await _keep_an_owner(conn, actor.workspace_id, user_id)
        await conn.execute(memberships.update().where(
            memberships.c.workspace_id == actor.workspace_id,
            memberships.c.user_id == user_id).values(role=role))
        row = (await conn.execute(_members(actor.workspace_id).where(
            users.c.id == user_id))).one()
        if old != role:
            await append(conn, [Entry(actor.workspace_id, "member.role_changed", actor.actor,
                                      target_type="user", target_id=user_id,
                                      data={"from": old, "to": role})])
    return _member_dict(row)


async def _keep_an_owner(conn: Any, workspace_id: str, leaving: str) -> None:
    others = await conn.execute(sa.select(sa.func.count()).select_from(memberships).where(
        memberships.c.workspace_id == workspace_id, memberships.c.role == "owner",
        memberships.c.user_id != leaving))
    if not others.scalar():
        raise Conflict("a workspace needs at least one owner", code="last_owner")


async def delete_user(hub: Hub, *, actor: Principal, user_id: str) -> None:
    """Remove a member from the workspace: their tokens and sessions there end at once."""
    actor.require("members.manage")
    async with hub.db.write() as conn:
        role = await member_role(conn, actor.workspace_id, user_id)
        actor.require_over(role, "delete")
        if role == "owner":
            await _keep_an_owner(conn, actor.workspace_id, user_id)
        await conn.execute(api_tokens.update().where(
            api_tokens.c.user_id == user_id, api_tokens.c.workspace_id == actor.workspace_id,
            api_tokens.c.revoked_at.is_(None)).values(revoked_at=time.time()))
        await conn.execute(sessions.delete().where(sessions.c.user_id == user_id,
                                                   sessions.c.workspace_id == actor.workspace_id))
        await conn.execute(memberships.delete().where(
            memberships.c.workspace_id == actor.workspace_id,
            memberships.c.user_id == user_id))
        await append(conn, [Entry(actor.workspace_id, "member.removed", actor.actor,
                                  target_type="user", target_id=user_id,
                                  data={"role": role})])
