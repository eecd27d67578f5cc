"""Workspaces, users, roles and API tokens.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored (they are
high-entropy, so a slow hash adds nothing). No default password exists anywhere: the first
start creates a workspace, an owner and a one-time setup token.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.errors import Conflict, Forbidden, NotFound, Unauthorized
from hub.ids import new_id
from hub.store.tables import api_tokens, users, workspaces

if TYPE_CHECKING:
    from hub.context import Hub

ROLES = ("viewer", "editor", "admin", "owner")
TOKEN_PREFIX = "zh_"


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through a token, in one workspace, with a role."""

    workspace_id: str
    user_id: str
    role: str
    token_id: str | None = None

    def require(self, role: str) -> None:
        if ROLES.index(self.role) < ROLES.index(role):
            raise Forbidden(f"this needs the {role} role; you are {self.role}",
                            code="insufficient_role")

    def require_over(self, role: str, what: str) -> None:
        """Refuse to act on (or grant) a role above the caller's own: ``what`` says what."""
        if ROLES.index(self.role) < ROLES.index(role):
            raise Forbidden(f"you are {self.role}: you cannot {what} a user whose role is "
                            f"{role}", code="insufficient_role")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


async def bootstrap(hub: Hub) -> str | None:
    """On an empty database create a workspace, an owner and a setup token; return the token."""
    async with hub.db.write() as conn:
        if hub.db.is_postgres:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(7215844)"))
        if (await conn.execute(sa.select(workspaces.c.id).limit(1))).first():
            return None
        ws = await _insert_workspace(conn, "Default")
        user = await _insert_user(conn, ws, "owner@localhost", "owner", "Owner")
        _, token = await _insert_token(conn, ws, user, "setup")
    return token


async def create_workspace(hub: Hub, *, name: str, owner_email: str) -> dict[str, str]:
    """A new workspace with its owner and the owner's first token (returned once)."""
    async with hub.db.write() as conn:
        ws = await _insert_workspace(conn, name)
        user = await _insert_user(conn, ws, owner_email, "owner", "")
        _, token = await _insert_token(conn, ws, user, "initial")
    return {"workspace_id": ws, "user_id": user, "token": token}


async def _insert_workspace(conn: Any, name: str) -> str:
    ws = new_id("ws")
    await conn.execute(workspaces.insert().values(id=ws, name=name, created_at=time.time()))
    return ws


async def _insert_user(conn: Any, ws: str, email: str, role: str, name: str) -> str:
    uid = new_id("usr")
    await conn.execute(users.insert().values(id=uid, workspace_id=ws, email=email, role=role,
                                             name=name, created_at=time.time()))
    return uid


async def _insert_token(conn: Any, ws: str, user: str, name: str,
                        expires_at: float | None = None) -> tuple[str, str]:
    token, tid = _new_token(), new_id("tok")
    await conn.execute(api_tokens.insert().values(
        id=tid, workspace_id=ws, user_id=user, name=name, token_hash=hash_token(token),
        prefix=token[:8], created_at=time.time(), expires_at=expires_at))
    return tid, token


async def authenticate(hub: Hub, token: str | None) -> Principal:
    """The principal behind a bearer token, or ``Unauthorized`` (never says which part failed)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized("missing or invalid bearer token", code="invalid_token")
    query = sa.select(api_tokens.c.id, api_tokens.c.workspace_id, api_tokens.c.user_id,
                      api_tokens.c.expires_at, users.c.role).join(
        users, users.c.id == api_tokens.c.user_id).where(
        api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
    async with hub.db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None or (row.expires_at is not None and row.expires_at < time.time()):
        raise Unauthorized("missing or invalid bearer token", code="invalid_token")
    return Principal(row.workspace_id, row.user_id, row.role, row.id)


# --- users ------------------------------------------------------------------------------------

def _user_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "name": row.name, "role": row.role,
            "created_at": row.created_at}


async def list_users(hub: Hub, *, workspace_id: str) -> list[dict[str, Any]]:
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(users).where(users.c.workspace_id == workspace_id)
                                  .order_by(users.c.id))
        return [_user_dict(r) for r in rows]


async def create_user(hub: Hub, *, actor: Principal, email: str, role: str,
                      name: str = "") -> dict[str, Any]:
    """Add a user and return it with a first token (shown once)."""
    _check_grant(actor, role)
    async with hub.db.write() as conn:
        exists = await conn.execute(sa.select(users.c.id).where(
            users.c.workspace_id == actor.workspace_id, users.c.email == email))
        if exists.first():
            raise Conflict(f"a user with email '{email}' exists", code="user_exists")
        uid = await _insert_user(conn, actor.workspace_id, email, role, name)
        _, token = await _insert_token(conn, actor.workspace_id, uid, "initial")
        row = (await conn.execute(sa.select(users).where(users.c.id == uid))).one()
    return {**_user_dict(row), "token": token}


def _check_grant(actor: Principal, role: str) -> None:
    actor.require("admin")
    if ROLES.index(actor.role) < ROLES.index(role):
        raise Forbidden(f"you are {actor.role}: you cannot grant the {role} role",
                        code="insufficient_role")


def _deleted(row: Any) -> bool:
    return bool(row.email.startswith("deleted+") and row.email.endswith("@invalid"))


async def _user_row(conn: Any, workspace_id: str, user_id: str) -> Any:
    """The live user ``user_id`` of the workspace (a deleted one is not found)."""
    row = (await conn.execute(sa.select(users).where(
        users.c.id == user_id, users.c.workspace_id == workspace_id))).first()
    if row is None or _deleted(row):
        raise NotFound(f"no user '{user_id}'", code="user_not_found")
    return row


async def set_role(hub: Hub, *, actor: Principal, user_id: str, role: str) -> dict[str, Any]:
    """Change a user's role: nobody grants, or changes the role of, a role above their own."""
    _check_grant(actor, role)
    async with hub.db.write() as conn:
        row = await _user_row(conn, actor.workspace_id, user_id)
        actor.require_over(row.role, "change the role of")
        if row.role == "owner" and role != "owner":
            await _keep_an_owner(conn, actor.workspace_id, user_id)
        await conn.execute(users.update().where(users.c.id == user_id).values(role=role))
        row = await _user_row(conn, actor.workspace_id, user_id)
    return _user_dict(row)


async def _keep_an_owner(conn: Any, workspace_id: str, leaving: str) -> None:
    others = await conn.execute(sa.select(sa.func.count()).select_from(users).where(
        users.c.workspace_id == workspace_id, users.c.role == "owner", users.c.id != leaving))
    if not others.scalar():
        raise Conflict("a workspace needs at least one owner", code="last_owner")


async def delete_user(hub: Hub, *, actor: Principal, user_id: str) -> None:
    actor.require("admin")
    async with hub.db.write() as conn:
        row = await _user_row(conn, actor.workspace_id, user_id)
        actor.require_over(row.role, "delete")
        if row.role == "owner":
            await _keep_an_owner(conn, actor.workspace_id, user_id)
        await conn.execute(api_tokens.update().where(api_tokens.c.user_id == user_id,
                                                     api_tokens.c.revoked_at.is_(None))
                           .values(revoked_at=time.time()))
        await conn.execute(users.update().where(users.c.id == user_id).values(role="viewer",
                           email=f"deleted+{user_id}@invalid"))


# --- tokens -----------------------------------------------------------------------------------

def _token_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "user_id": row.user_id, "prefix": row.prefix,
            "created_at": row.created_at, "last_used_at": row.last_used_at,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at}


async def create_token(hub: Hub, *, actor: Principal, name: str, user_id: str | None = None,
                       expires_in: float | None = None) -> dict[str, Any]:
    """A new token for ``user_id`` (default: the caller); the secret is returned only here.

    Admins may mint tokens for others, never for a user whose role is above their own (the
    token would act with that role)."""
    target = user_id or actor.user_id
    if target != actor.user_id:
        actor.require("admin")
    expires_at = time.time() + expires_in if expires_in else None
    async with hub.db.write() as conn:
        row = await _user_row(conn, actor.workspace_id, target)
        actor.require_over(row.role, "create a token for")
        tid, token = await _insert_token(conn, actor.workspace_id, target, name, expires_at)
        row = (await conn.execute(sa.select(api_tokens).where(api_tokens.c.id == tid))).one()
    return {**_token_dict(row), "token": token}


async def list_tokens(hub: Hub, *, actor: Principal) -> list[dict[str, Any]]:
    """The caller's tokens; admins also see those of users whose role is not above theirs."""
    query = sa.select(api_tokens).where(api_tokens.c.workspace_id == actor.workspace_id)
    if ROLES.index(actor.role) < ROLES.index("admin"):
        query = query.where(api_tokens.c.user_id == actor.user_id)
    else:
        visible = sa.select(users.c.id).where(
            users.c.workspace_id == actor.workspace_id,
            users.c.role.in_(ROLES[:ROLES.index(actor.role) + 1]))
        query = query.where(sa.or_(api_tokens.c.user_id == actor.user_id,
                                   api_tokens.c.user_id.in_(visible)))
    async with hub.db.read() as conn:
        return [_token_dict(r) for r in await conn.execute(query.order_by(api_tokens.c.id))]


async def revoke_token(hub: Hub, *, actor: Principal, token_id: str) -> None:
    async with hub.db.write() as conn:
        row = (await conn.execute(sa.select(api_tokens).where(
            api_tokens.c.id == token_id,
            api_tokens.c.workspace_id == actor.workspace_id))).first()
        if row is None:
            raise NotFound(f"no token '{token_id}'", code="token_not_found")
        if row.user_id != actor.user_id:
            actor.require("admin")
            holder = (await conn.execute(sa.select(users.c.role).where(
                users.c.id == row.user_id))).scalar_one()
            actor.require_over(holder, "revoke a token of")
        await conn.execute(api_tokens.update().where(api_tokens.c.id == token_id)
                           .values(revoked_at=time.time()))
