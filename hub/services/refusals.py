"""Refusals recorded in the audit trail: a role or token scope refusing a route, a used or
expired link. A caller can repeat a refused request at will, so each kind of refusal is
recorded at most once per ``WINDOW`` seconds per caller (and the memory of that is bounded).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.audit.chain import Actor, Entry, append
from hub.services.identity import Principal, hash_token
from hub.store.tables import auth_links

if TYPE_CHECKING:
    from hub.context import Hub

WINDOW = 60.0
MAX_KEYS = 10_000
_SEEN: dict[tuple[Any, ...], float] = {}


def _first_in_window(key: tuple[Any, ...]) -> bool:
    now = time.monotonic()
    last = _SEEN.get(key)
    if last is not None and now - last < WINDOW:
        return False
    if len(_SEEN) >= MAX_KEYS:
        _SEEN.clear()
    _SEEN[key] = now
    return True


async def record_denial(hub: Hub, who: Principal, *, code: str, route: str,
                        permission: str) -> None:
    """Record that ``who`` was refused ``route`` (e.g. ``"POST /api/v1/zaps"``)."""
    caller = who.token_id or who.session_id or who.user_id
    if not _first_in_window((id(hub), caller, route, code)):
        return
    async with hub.db.write() as conn:
        await append(conn, [Entry(who.workspace_id, "access.denied", who.actor,
                                  target_type="route", target_id=route[:128],
                                  data={"code": code, "permission": permission})])


async def record_link_refusal(hub: Hub, token: str, *, kind: str, code: str) -> None:
    """Record a refused use of a known link (a used or expired one) in its workspace."""
    digest = hash_token(token)
    if not _first_in_window((id(hub), digest, code)):
        return
    async with hub.db.write() as conn:
        row = (await conn.execute(sa.select(
            auth_links.c.id, auth_links.c.workspace_id, auth_links.c.kind).where(
            auth_links.c.token_hash == digest))).first()
        if row is None or row.workspace_id is None:
            return
        await append(conn, [Entry(row.workspace_id, "auth.link_refused", Actor("anonymous"),
                                  target_type="link", target_id=row.id,
                                  data={"code": code, "kind": row.kind, "wanted": kind})])
