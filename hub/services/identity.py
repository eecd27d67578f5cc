"""Principals, the first start, and API tokens.

Tokens are 256-bit random strings shown once; only their SHA-256 is stored (they are
high-entropy, so a slow hash adds nothing). No default password exists anywhere: the first
start creates a workspace, an owner without a password and a single-use setup link
(``hub.services.auth``) that lets the first person choose the owner's e-mail and password.
People and memberships live in ``hub.services.people``.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.ai.baseline import insert_baseline
from hub.audit.chain import Actor, Entry, append
from hub.errors import Conflict, Forbidden, NotFound, Unauthorized
from hub.ids import new_id
from hub.permissions import PERMISSIONS, READ_ONLY, ROLES, ZAP_SCOPED, allowed, rank
from hub.store.tables import api_tokens, auth_links, memberships, users, workspaces, zaps

if TYPE_CHECKING:
    from hub.context import Hub

TOKEN_PREFIX = "zh_"
LINK_PREFIX = "zl_"
SETUP_TTL = 24 * 3600.0
FIRST_OWNER = "owner@localhost"
__all__ = ["ROLES", "Principal", "authenticate", "bootstrap", "create_token", "hash_token"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user, through a token or a session, in one workspace, with a role.

    ``read_only`` and ``zaps`` narrow what a scoped API token may do below its user's role.
    """

    workspace_id: str
    user_id: str
    role: str
    token_id: str | None = None
    session_id: str | None = None
    read_only: bool = False
    zaps: tuple[str, ...] | None = None

    def _role_allows(self, permission: str) -> bool:
        if permission in PERMISSIONS:
            return allowed(self.role, permission)
        return rank(self.role) >= rank(permission)  # a role name: that role or above

    def _scope_allows(self, permission: str) -> bool:
        if self.read_only and permission not in READ_ONLY and permission != "viewer":
            return False
        return self.zaps is None or permission in ZAP_SCOPED or permission not in PERMISSIONS

    def can(self, permission: str) -> bool:
        """Whether the caller has ``permission`` (by role, within the token's scope)."""
        return self._role_allows(permission) and self._scope_allows(permission)

    def require(self, permission: str) -> None:
        """Refuse (403) unless the caller has ``permission`` (a permission or a role name)."""
        if not self._role_allows(permission):
            raise Forbidden(f"this needs the '{permission}' permission, which the "
                            f"{self.role} role does not have", code="insufficient_role")
        if not self._scope_allows(permission):
            raise Forbidden(f"this token's scope does not include '{permission}'",
                            code="token_scope")

    def require_over(self, role: str, what: str) -> None:
        """Refuse to act on (or grant) a role above the caller's own: ``what`` says what."""
        if rank(self.role) < rank(role):
            raise Forbidden(f"you are {self.role}: you cannot {what} a user whose role is "
                            f"{role}", code="insufficient_role")

    def may_use_zap(self, zap_id: str) -> bool:
        """Whether a token limited to named zaps covers ``zap_id``."""
        return self.zaps is None or zap_id in self.zaps

    @property
    def actor(self) -> Actor:
        """The audit trail's view of the caller."""
        return Actor("user", self.user_id, self.token_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def normal_email(email: str) -> str:
    """E-mail addresses compare case-insensitively: they are stored lower-case."""
    return email.strip().lower()


async def bootstrap(hub: Hub) -> str | None:
    """On an empty database create a workspace, an owner without a password and a single-use
    setup link (24 h); return the link's token (``None`` when a workspace exists)."""
    async with hub.db.write() as conn:
        if hub.db.is_postgres:
            await conn.execute(sa.text("SELECT pg_advisory_xact_lock(7215844)"))
        if (await conn.execute(sa.select(workspaces.c.id).limit(1))).first():
            return None
        ws = await insert_workspace(conn, "Default")
        await insert_baseline(conn, ws, hub.registry.guardrails)
        user = await insert_user(conn, FIRST_OWNER, "Owner")
        await insert_membership(conn, ws, user, "owner")
        # the first start is not audited: the chain starts with the owner's setup
        _, token = await insert_link(conn, kind="setup", ttl=SETUP_TTL, workspace_id=ws,
                                  user_id=user)
    return token


async def bootstrap_link(hub: Hub, *, workspace_id: str) -> str:
    """A new setup link for the first owner (``owner@localhost``) of a workspace, while that
    person still has no password; ``setup_done`` once they have one."""
    async with hub.db.write() as conn:
        row = (await conn.execute(sa.select(users.c.id, users.c.password_hash).join(
            memberships, memberships.c.user_id == users.c.id).where(
            memberships.c.workspace_id == workspace_id, memberships.c.role == "owner",
            users.c.email == FIRST_OWNER))).first()
        if row is None or row.password_hash is not None:
            raise Conflict("the owner has signed in already: use `hub users reset-link` or "
                           "`hub tokens create`", code="setup_done")
        _, token = await insert_link(conn, kind="setup", ttl=SETUP_TTL,
                                     workspace_id=workspace_id, user_id=row.id)
    return token


async def create_workspace(hub: Hub, *, name: str, owner_email: str,
                           actor: Actor | None = None) -> dict[str, str]:
    """A new workspace owned by ``owner_email`` (a new person, or an existing one who joins)
    and the owner's first token there (returned once)."""
    async with hub.db.write() as conn:
        ws = await insert_workspace(conn, name)
        await insert_baseline(conn, ws, hub.registry.guardrails)
        found = (await conn.execute(sa.select(users.c.id).where(
            users.c.email == normal_email(owner_email)))).first()
        user = found.id if found else await insert_user(conn, owner_email, "")
        await insert_membership(conn, ws, user, "owner")
        tid, token = await insert_token(conn, ws, user, "initial")
        who = actor or Actor("system", "hub")
        await append(conn, [
            Entry(ws, "workspace.created", who, target_type="workspace", target_id=ws,
                  data={"name": name, "owner": user}),
            Entry(ws, "token.created", who, target_type="token", target_id=tid,
                  data={"name": "initial", "user_id": user})])
    return {"workspace_id": ws, "user_id": user, "token": token}


async def insert_workspace(conn: Any, name: str) -> str:
    ws = new_id("ws")
    await conn.execute(workspaces.insert().values(id=ws, name=name, created_at=time.time()))
    return ws


async def insert_user(conn: Any, email: str, name: str,
                      password_hash: str | None = None) -> str:
    uid = new_id("usr")
    await conn.execute(users.insert().values(
        id=uid, email=normal_email(email), name=name, created_at=time.time(),
        password_hash=password_hash, password_changed_at=time.time() if password_hash else None))
    return uid


async def insert_membership(conn: Any, ws: str, user: str, role: str) -> None:
    await conn.execute(memberships.insert().values(workspace_id=ws, user_id=user, role=role,
                                                   created_at=time.time()))


async def insert_link(conn: Any, *, kind: str, ttl: float, workspace_id: str | None = None,
                      user_id: str | None = None, **extra: Any) -> tuple[str, str]:
    """A single-use link of ``kind``; returns its id and token (only the hash is stored)."""
    token, lid = LINK_PREFIX + secrets.token_urlsafe(32), new_id("lnk")
    now = time.time()
    await conn.execute(auth_links.insert().values(
        id=lid, token_hash=hash_token(token), kind=kind, workspace_id=workspace_id,
        user_id=user_id, created_at=now, expires_at=now + ttl, **extra))
    return lid, token


async def insert_token(conn: Any, ws: str, user: str, name: str,
                       expires_at: float | None = None,
                       scope: dict[str, Any] | None = None) -> tuple[str, str]:
    token, tid = _new_token(), new_id("tok")
    await conn.execute(api_tokens.insert().values(
        id=tid, workspace_id=ws, user_id=user, name=name, token_hash=hash_token(token),
        prefix=token[:8], created_at=time.time(), expires_at=expires_at, scope=scope))
    return tid, token


def _scoped(row: Any) -> dict[str, Any]:
    scope = row.scope or {}
    zaps = scope.get("zaps")
    return {"read_only": bool(scope.get("read_only")),
            "zaps": tuple(zaps) if zaps is not None else None}


async def authenticate(hub: Hub, token: str | None) -> Principal:
    """The principal behind a bearer token, or ``Unauthorized`` (never says which part failed)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise Unauthorized("missing or invalid bearer token", code="invalid_token")
    query = sa.select(api_tokens.c.id, api_tokens.c.workspace_id, api_tokens.c.user_id,
                      api_tokens.c.expires_at, api_tokens.c.scope,
                      api_tokens.c.last_used_at, memberships.c.role).join(
        memberships, sa.and_(memberships.c.user_id == api_tokens.c.user_id,
                             memberships.c.workspace_id == api_tokens.c.workspace_id)).where(
        api_tokens.c.token_hash == hash_token(token), api_tokens.c.revoked_at.is_(None))
    async with hub.db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None or (row.expires_at is not None and row.expires_at < time.time()):
        raise Unauthorized("missing or invalid bearer token", code="invalid_token")
    principal = Principal(row.workspace_id, row.user_id, row.role, row.id, **_scoped(row))
    await _note_use(hub, principal, row.last_used_at)
    return principal


#: ``last_used_at`` is written at most this often per token (not once per request)
USE_RESOLUTION = 3600.0


async def _note_use(hub: Hub, who: Principal, last_used_at: float | None) -> None:
    """Keep ``last_used_at`` coarsely and audit the first use of a token each (UTC) day."""
    now = time.time()
    if last_used_at is not None and now - last_used_at < USE_RESOLUTION:
        return
    new_day = last_used_at is None or int(now // 86400) != int(last_used_at // 86400)
    async with hub.db.write() as conn:
        done = await conn.execute(api_tokens.update().where(
            api_tokens.c.id == who.token_id,
            sa.or_(api_tokens.c.last_used_at.is_(None),
                   api_tokens.c.last_used_at < now - USE_RESOLUTION)).values(last_used_at=now))
        if done.rowcount and new_day:
            await append(conn, [Entry(who.workspace_id, "token.used", who.actor,
                                      target_type="token", target_id=who.token_id)])


# --- tokens -----------------------------------------------------------------------------------

def _token_dict(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "user_id": row.user_id, "prefix": row.prefix,
            "created_at": row.created_at, "last_used_at": row.last_used_at,
            "expires_at": row.expires_at, "revoked_at": row.revoked_at,
            "scope": row.scope}


async def member_role(conn: Any, workspace_id: str, user_id: str) -> str:
    """The role of ``user_id`` in the workspace; ``user_not_found`` when not a member."""
    role = (await conn.execute(sa.select(memberships.c.role).where(
        memberships.c.workspace_id == workspace_id,
        memberships.c.user_id == user_id))).scalar()
    if role is None:
        raise NotFound(f"no user '{user_id}'", code="user_not_found")
    return str(role)


async def create_token(hub: Hub, *, actor: Principal, name: str, user_id: str | None = None,
                       expires_in: float | None = None,
                       scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """A new token for ``user_id`` (default: the caller); the secret is returned only here.

    Admins may mint tokens for others, never for a user whose role is above their own (the
    token would act with that role). A scoped caller's tokens are no wider than its own."""
    target = user_id or actor.user_id
    actor.require("tokens.own")
    if target != actor.user_id:
        actor.require("members.manage")
    scope = _narrow(actor, scope)
    expires_at = time.time() + expires_in if expires_in else None
    async with hub.db.write() as conn:
        actor.require_over(await member_role(conn, actor.workspace_id, target),
                           "create a token for")
        await _zaps_exist(conn, actor.workspace_id, (scope or {}).get("zaps"))
        tid, token = await insert_token(conn, actor.workspace_id, target, name, expires_at,
                                        scope)
        row = (await conn.execute(sa.select(api_tokens).where(api_tokens.c.id == tid))).one()
        await append(conn, [Entry(actor.workspace_id, "token.created", actor.actor,
                                  target_type="token", target_id=tid,
                                  data={"name": name, "user_id": target, "scope": scope,
                                        "expires_at": expires_at})])
    return {**_token_dict(row), "token": token}


async def _zaps_exist(conn: Any, workspace_id: str, ids: list[str] | None) -> None:
    if not ids:
        return
    found = set((await conn.execute(sa.select(zaps.c.id).where(
        zaps.c.workspace_id == workspace_id, zaps.c.id.in_(ids),
        zaps.c.deleted_at.is_(None)))).scalars())
    missing = sorted(set(ids) - found)
    if missing:
        raise NotFound(f"no zap '{missing[0]}'", code="zap_not_found")


def _narrow(actor: Principal, scope: dict[str, Any] | None) -> dict[str, Any] | None:
    """``scope`` no wider than the caller's own (a read-only token mints read-only ones)."""
    if not actor.read_only and actor.zaps is None:
        return scope or None
    out = dict(scope or {})
    if actor.read_only:
        out["read_only"] = True
    if actor.zaps is not None:
        wanted = out.get("zaps")
        out["zaps"] = sorted(set(actor.zaps) & set(wanted if wanted is not None else actor.zaps))
    return out


async def list_tokens(hub: Hub, *, actor: Principal) -> list[dict[str, Any]]:
    """The caller's tokens; admins also see those of members whose role is not above theirs."""
    query = sa.select(api_tokens).where(api_tokens.c.workspace_id == actor.workspace_id)
    if not actor.can("members.manage"):
        query = query.where(api_tokens.c.user_id == actor.user_id)
    else:
        visible = sa.select(memberships.c.user_id).where(
            memberships.c.workspace_id == actor.workspace_id,
            memberships.c.role.in_(ROLES[:rank(actor.role) + 1]))
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
            actor.require("members.manage")
            holder = (await conn.execute(sa.select(memberships.c.role).where(
                memberships.c.workspace_id == actor.workspace_id,
                memberships.c.user_id == row.user_id))).scalar()
            actor.require_over(holder or "viewer", "revoke a token of")
        await conn.execute(api_tokens.update().where(api_tokens.c.id == token_id)
                           .values(revoked_at=time.time()))
        await append(conn, [Entry(actor.workspace_id, "token.revoked", actor.actor,
                                  target_type="token", target_id=token_id)])


async def operator_token(hub: Hub, *, email: str, workspace_id: str,
                         name: str = "cli") -> str:
    """A token for the member ``email`` of the workspace, for operators with database access
    (``hub tokens create``): the recovery path when nobody can sign in."""
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(users.c.id, memberships.c.role).join(
            memberships, memberships.c.user_id == users.c.id).where(
            memberships.c.workspace_id == workspace_id,
            users.c.email == normal_email(email)))).first()
    if row is None:
        raise NotFound(f"no user '{email}' in workspace {workspace_id}", code="user_not_found")
    operator = Principal(workspace_id, row.id, row.role)
    return str((await create_token(hub, actor=operator, name=name))["token"])
