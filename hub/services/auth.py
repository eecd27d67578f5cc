"""Signing in: sessions, the first-start setup link, throttled password checks.

A session is a random cookie value; only its SHA-256 is stored, with an expiry. Wrong passwords
are counted per (e-mail, client address) key: after ``MAX_FAILURES`` within ``WINDOW`` seconds
that key is refused with ``too_many_attempts`` until the window ends. Every sign-in and failed
sign-in is recorded in the audit trail of the person's workspaces.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.audit.chain import Actor, Entry, append
from hub.errors import HubError, NotFound, Unauthorized
from hub.services.identity import Principal, hash_token, normal_email
from hub.services.links import audited, consume_link
from hub.services.passwords import hash_password, needs_rehash, verify_password
from hub.store.tables import auth_throttle, memberships, sessions, users, workspaces

if TYPE_CHECKING:
    from hub.context import Hub

SESSION_PREFIX = "zs_"
MAX_FAILURES = 5
WINDOW = 900.0
#: a failed sign-in is recorded in at most this many of the person's workspaces
AUDIT_FANOUT = 20


class TooManyAttempts(HubError):
    code = "too_many_attempts"
    status = 429
    title = "Too many attempts"


@dataclass(frozen=True)
class SignedIn:
    """A new session: ``cookie`` is its secret value (set it as the cookie, show it nowhere)."""

    cookie: str
    user_id: str
    workspace_id: str
    expires_at: float


def _throttle_key(email: str, address: str) -> str:
    return hash_token(f"{normal_email(email)}\n{address}")


async def _check_throttle(hub: Hub, key: str) -> None:
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(auth_throttle).where(
            auth_throttle.c.key == key))).first()
    if row is not None and row.failures >= MAX_FAILURES and \
            row.window_start > time.time() - WINDOW:
        wait = int(row.window_start + WINDOW - time.time()) + 1
        raise TooManyAttempts(f"too many failed sign-ins; try again in {wait} s",
                              extra={"retry_after": wait})


async def _count_failure(conn: Any, key: str) -> int:
    """Count a failure of ``key``; return how many it has in the current window."""
    now = time.time()
    await conn.execute(auth_throttle.delete().where(auth_throttle.c.window_start < now - WINDOW))
    done = await conn.execute(auth_throttle.update().where(auth_throttle.c.key == key).values(
        failures=auth_throttle.c.failures + 1))
    if not done.rowcount:
        await conn.execute(auth_throttle.insert().values(key=key, failures=1, window_start=now))
    return int((await conn.execute(sa.select(auth_throttle.c.failures).where(
        auth_throttle.c.key == key))).scalar_one())


async def _workspaces_of(conn: Any, user_id: str) -> list[str]:
    rows = await conn.execute(sa.select(memberships.c.workspace_id).where(
        memberships.c.user_id == user_id).order_by(memberships.c.created_at,
                                                   memberships.c.workspace_id))
    return [r.workspace_id for r in rows]


async def _failed(hub: Hub, key: str, user: Any, address: str) -> HubError:
    async with hub.db.write() as conn:
        failures = await _count_failure(conn, key)
        if user is not None:
            spaces = (await _workspaces_of(conn, user.id))[:AUDIT_FANOUT]
            actions = ["auth.sign_in_failed"] + (
                ["auth.sign_in_throttled"] if failures == MAX_FAILURES else [])
            await append(conn, [Entry(ws, action, Actor("user", user.id),
                                      target_type="user", target_id=user.id,
                                      data={"address": address, "failures": failures})
                                for ws in spaces for action in actions])
    return Unauthorized("wrong e-mail or password", code="invalid_credentials")


async def sign_in(hub: Hub, *, email: str, password: str, address: str,
                  workspace_id: str | None = None) -> SignedIn:
    """Check the password and open a session in ``workspace_id`` (default: the first)."""
    key = _throttle_key(email, address)
    await _check_throttle(hub, key)
    async with hub.db.read() as conn:
        user = (await conn.execute(sa.select(users).where(
            users.c.email == normal_email(email)))).first()
    if not await verify_password(user.password_hash if user else None, password):
        raise await _failed(hub, key, user, address)
    rehashed = await hash_password(password) if needs_rehash(user.password_hash) else None
    async with hub.db.write() as conn:
        await conn.execute(auth_throttle.delete().where(auth_throttle.c.key == key))
        await conn.execute(sessions.delete().where(sessions.c.expires_at < time.time()))
        if rehashed:  # hashed before the write: the database is never locked meanwhile
            await conn.execute(users.update().where(users.c.id == user.id).values(
                password_hash=rehashed))
        ws = await _pick_workspace(conn, user.id, workspace_id)
        signed = await open_session(conn, hub, user.id, ws)
        await append(conn, [Entry(ws, "auth.signed_in", Actor("user", user.id),
                                  target_type="user", target_id=user.id,
                                  data={"address": address})])
    return signed


async def _pick_workspace(conn: Any, user_id: str, wanted: str | None) -> str:
    spaces = await _workspaces_of(conn, user_id)
    if wanted is not None and wanted not in spaces:
        raise NotFound(f"no workspace '{wanted}'", code="workspace_not_found")
    if not spaces:
        raise NotFound("you are not a member of any workspace", code="workspace_not_found")
    return wanted or spaces[0]


async def open_session(conn: Any, hub: Hub, user_id: str, workspace_id: str) -> SignedIn:
    cookie = SESSION_PREFIX + secrets.token_urlsafe(32)
    now = time.time()
    expires = now + hub.settings.session_ttl
    await conn.execute(sessions.insert().values(id=hash_token(cookie), user_id=user_id,
                                                workspace_id=workspace_id, created_at=now,
                                                expires_at=expires))
    return SignedIn(cookie, user_id, workspace_id, expires)


async def session_principal(hub: Hub, cookie: str | None) -> Principal:
    """The principal behind a session cookie, or ``Unauthorized`` (``invalid_session``)."""
    if not cookie or not cookie.startswith(SESSION_PREFIX) or len(cookie) > 200:
        raise Unauthorized("missing or expired session; sign in again", code="invalid_session")
    query = sa.select(sessions.c.id, sessions.c.user_id, sessions.c.workspace_id,
                      sessions.c.expires_at, memberships.c.role).join(
        memberships, sa.and_(memberships.c.user_id == sessions.c.user_id,
                             memberships.c.workspace_id == sessions.c.workspace_id)).where(
        sessions.c.id == hash_token(cookie))
    async with hub.db.read() as conn:
        row = (await conn.execute(query)).first()
    if row is None or row.expires_at < time.time():
        raise Unauthorized("missing or expired session; sign in again", code="invalid_session")
    return Principal(row.workspace_id, row.user_id, row.role, session_id=row.id)


async def sign_out(hub: Hub, *, session_id: str) -> None:
    async with hub.db.write() as conn:
        await conn.execute(sessions.delete().where(sessions.c.id == session_id))


async def switch_workspace(hub: Hub, *, who: Principal, workspace_id: str) -> dict[str, Any]:
    """Move the caller's session to another of their workspaces."""
    if who.session_id is None:
        raise HubError("only a signed-in session switches workspace; an API token belongs "
                       "to one workspace", code="not_a_session")
    async with hub.db.write() as conn:
        ws = await _pick_workspace(conn, who.user_id, workspace_id)
        await conn.execute(sessions.update().where(sessions.c.id == who.session_id).values(
            workspace_id=ws))
    return await whoami(hub, who=Principal(ws, who.user_id, "viewer"))


async def whoami(hub: Hub, *, who: Principal) -> dict[str, Any]:
    """The caller: user, current workspace and role, and every membership."""
    async with hub.db.read() as conn:
        user = (await conn.execute(sa.select(users.c.id, users.c.email, users.c.name).where(
            users.c.id == who.user_id))).one()
        rows = (await conn.execute(sa.select(
            memberships.c.workspace_id, memberships.c.role, workspaces.c.name).join(
            workspaces, workspaces.c.id == memberships.c.workspace_id).where(
            memberships.c.user_id == who.user_id).order_by(memberships.c.created_at))).all()
    spaces = [{"workspace_id": r.workspace_id, "name": r.name, "role": r.role} for r in rows]
    role = next((s["role"] for s in spaces if s["workspace_id"] == who.workspace_id), None)
    return {"user": {"id": user.id, "email": user.email, "name": user.name},
            "workspace_id": who.workspace_id, "role": role, "memberships": spaces,
            "via": "session" if who.session_id else "token"}


async def complete_setup(hub: Hub, *, token: str, email: str, password: str,
                         name: str) -> SignedIn:
    """Use the single-use setup link: the first owner's e-mail, name and password."""
    digest = await hash_password(password)
    async with audited(hub, token, kind="setup"), hub.db.write() as conn:
        link = await consume_link(conn, token, kind="setup")
        taken = (await conn.execute(sa.select(users.c.id).where(
            users.c.email == normal_email(email), users.c.id != link.user_id))).first()
        if taken:
            raise HubError(f"'{normal_email(email)}' is taken", code="user_exists",
                           status=409)
        await conn.execute(users.update().where(users.c.id == link.user_id).values(
            email=normal_email(email), name=name, password_hash=digest,
            password_changed_at=time.time()))
        signed = await open_session(conn, hub, link.user_id, link.workspace_id)
        await append(conn, [Entry(link.workspace_id, "auth.setup_completed",
                                  Actor("user", link.user_id), target_type="user",
                                  target_id=link.user_id)])
    return signed
