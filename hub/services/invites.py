"""Invitations and password reset links (single-use, expiring: ``hub.services.links``).

An invitation names an e-mail and a role; accepting it creates the person (choosing a password)
or, for someone who already has a password, needs that password, then adds the membership and
signs them in. A reset link, issued by an admin (or an operator: ``hub users reset-link``),
sets a new password and ends the person's other sessions.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.audit.chain import Actor, Entry, append
from hub.errors import Conflict, NotFound, Unauthorized
from hub.services.auth import SignedIn, open_session
from hub.services.identity import (
    Principal,
    hash_token,
    insert_link,
    member_role,
    normal_email,
)
from hub.services.links import audited, consume_link
from hub.services.passwords import hash_password, verify_password
from hub.services.people import add_member, find_user
from hub.store.tables import auth_links, memberships, sessions, users

if TYPE_CHECKING:
    from hub.context import Hub

INVITE_TTL = 7 * 86400.0
RESET_TTL = 24 * 3600.0
#: pending invitations a workspace may hold at once (each is a row and a live link)
MAX_PENDING = 500


def link_url(hub: Hub, page: str, token: str) -> str:
    settings = hub.settings
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    return f"{base}/{page}?token={token}"


async def invite(hub: Hub, *, actor: Principal, email: str, role: str) -> dict[str, Any]:
    """A single-use invitation link for ``email`` with ``role`` (not above the inviter's)."""
    actor.require("members.manage")
    actor.require_over(role, "invite as")
    now = time.time()
    async with hub.db.write() as conn:
        found = await find_user(conn, email)
        if found is not None and (await conn.execute(sa.select(memberships.c.role).where(
                memberships.c.workspace_id == actor.workspace_id,
                memberships.c.user_id == found.id))).first():
            raise Conflict(f"'{normal_email(email)}' is already a member", code="user_exists")
        pending = (await conn.execute(sa.select(sa.func.count()).select_from(auth_links).where(
            auth_links.c.workspace_id == actor.workspace_id, auth_links.c.kind == "invite",
            auth_links.c.used_at.is_(None), auth_links.c.expires_at > now))).scalar()
        if pending >= MAX_PENDING:
            raise Conflict(f"{MAX_PENDING} invitations are pending: revoke some first",
                           code="too_many_invitations")
        lid, token = await insert_link(conn, kind="invite", ttl=INVITE_TTL,
                                       workspace_id=actor.workspace_id,
                                       email=normal_email(email), role=role,
                                       created_by=actor.user_id)
        row = (await conn.execute(sa.select(auth_links).where(auth_links.c.id == lid))).one()
        await append(conn, [Entry(actor.workspace_id, "member.invited", actor.actor,
                                  target_type="invitation", target_id=row.id,
                                  data={"email": normal_email(email), "role": role})])
    return {**_invitation(row), "token": token, "link": link_url(hub, "invite", token)}


def _invitation(row: Any) -> dict[str, Any]:
    return {"id": row.id, "email": row.email, "role": row.role, "invited_by": row.created_by,
            "created_at": row.created_at, "expires_at": row.expires_at}


async def list_invitations(hub: Hub, *, actor: Principal) -> list[dict[str, Any]]:
    actor.require("members.manage")
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(auth_links).where(
            auth_links.c.workspace_id == actor.workspace_id, auth_links.c.kind == "invite",
            auth_links.c.used_at.is_(None), auth_links.c.expires_at > time.time()).order_by(
            auth_links.c.created_at))
        return [_invitation(r) for r in rows]


async def revoke_invitation(hub: Hub, *, actor: Principal, invitation_id: str) -> None:
    actor.require("members.manage")
    async with hub.db.write() as conn:
        done = await conn.execute(auth_links.update().where(
            auth_links.c.id == invitation_id, auth_links.c.workspace_id == actor.workspace_id,
            auth_links.c.kind == "invite", auth_links.c.used_at.is_(None)).values(
            used_at=time.time()))
        if not done.rowcount:
            raise NotFound(f"no pending invitation '{invitation_id}'",
                           code="invitation_not_found")
        await append(conn, [Entry(actor.workspace_id, "member.invitation_revoked",
                                  actor.actor, target_type="invitation",
                                  target_id=invitation_id)])


async def accept(hub: Hub, *, token: str, password: str, name: str = "") -> SignedIn:
    """Join the invitation's workspace: a new person sets ``password``; someone who has one
    proves it. Refused links stay unused (nothing is written)."""
    async with hub.db.read() as conn:
        existing = None
        link = (await conn.execute(sa.select(auth_links.c.email).where(
            auth_links.c.kind == "invite",
            auth_links.c.token_hash == hash_token(token)))).first()
        if link is not None:
            existing = await find_user(conn, link.email)
    has_password = existing is not None and existing.password_hash is not None
    if has_password and not await verify_password(existing.password_hash, password):
        raise Unauthorized("wrong password for the invited e-mail", code="invalid_credentials")
    digest = None if has_password else await hash_password(password)
    async with audited(hub, token, kind="invite"), hub.db.write() as conn:
        row = await consume_link(conn, token, kind="invite")
        inviter = Principal(row.workspace_id, row.created_by or "", "owner")
        uid = await add_member(conn, actor=inviter, email=row.email, role=row.role, name=name)
        if digest is not None:
            await conn.execute(users.update().where(users.c.id == uid).values(
                password_hash=digest, password_changed_at=time.time(),
                **({"name": name} if name else {})))
        signed = await open_session(conn, hub, uid, row.workspace_id)
        await append(conn, [Entry(row.workspace_id, "member.joined", Actor("user", uid),
                                  target_type="user", target_id=uid,
                                  data={"role": row.role, "invitation": row.id})])
    return signed


async def reset_link(hub: Hub, *, actor: Principal, user_id: str) -> dict[str, Any]:
    """A single-use password reset link for a member (not one whose role is above yours)."""
    if user_id != actor.user_id:
        actor.require("members.manage")
    async with hub.db.write() as conn:
        actor.require_over(await member_role(conn, actor.workspace_id, user_id),
                           "reset the password of")
        _, token = await insert_link(conn, kind="reset", ttl=RESET_TTL,
                                  workspace_id=actor.workspace_id, user_id=user_id,
                                  created_by=actor.user_id)
        await append(conn, [Entry(actor.workspace_id, "member.reset_link_created",
                                  actor.actor, target_type="user", target_id=user_id)])
    return {"user_id": user_id, "token": token, "link": link_url(hub, "reset-password", token),
            "expires_in": RESET_TTL}


async def reset_password(hub: Hub, *, token: str, password: str) -> None:
    """Use a reset link: the new password, and every session of the person ends."""
    digest = await hash_password(password)
    async with audited(hub, token, kind="reset"), hub.db.write() as conn:
        row = await consume_link(conn, token, kind="reset")
        await conn.execute(users.update().where(users.c.id == row.user_id).values(
            password_hash=digest, password_changed_at=time.time()))
        await conn.execute(sessions.delete().where(sessions.c.user_id == row.user_id))
        await append(conn, [Entry(row.workspace_id, "auth.password_reset",
                                  Actor("user", row.user_id), target_type="user",
                                  target_id=row.user_id)])
