"""Single-use, expiring links (setup, invitation, password reset).

A link's token is shown once (in the link); only its SHA-256 is stored. Using a link marks it
used in the same transaction as the change it allows, so it works exactly once even when two
requests race: the second is refused with ``link_used``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.errors import HubError
from hub.services.identity import LINK_PREFIX, hash_token
from hub.services.refusals import record_link_refusal
from hub.store.tables import auth_links

if TYPE_CHECKING:
    from hub.context import Hub


class LinkRefused(HubError):
    """``link_invalid`` (unknown or not this kind), ``link_used`` or ``link_expired``."""

    code = "link_invalid"
    status = 400
    title = "Link refused"


async def consume_link(conn: Any, token: str, *, kind: str) -> Any:
    """Mark the ``kind`` link behind ``token`` used and return its row, or refuse it."""
    if not token.startswith(LINK_PREFIX) or len(token) > 200:
        raise LinkRefused("this link is not valid")
    now = time.time()
    digest = hash_token(token)
    done = await conn.execute(auth_links.update().where(
        auth_links.c.token_hash == digest, auth_links.c.kind == kind,
        auth_links.c.used_at.is_(None), auth_links.c.expires_at > now).values(used_at=now))
    row = (await conn.execute(sa.select(auth_links).where(
        auth_links.c.token_hash == digest, auth_links.c.kind == kind))).first()
    if done.rowcount == 1:
        return row
    if row is None:
        raise LinkRefused("this link is not valid")
    if row.used_at is not None:
        raise LinkRefused("this link was already used; ask for a new one", code="link_used",
                          status=410)
    raise LinkRefused("this link has expired; ask for a new one", code="link_expired",
                      status=410)


@asynccontextmanager
async def audited(hub: Hub, token: str, *, kind: str) -> AsyncIterator[None]:
    """Around the use of a link: a refusal of a known link is recorded in the audit trail
    (after the refused transaction rolled back), then raised."""
    try:
        yield
    except LinkRefused as exc:
        await record_link_refusal(hub, token, kind=kind, code=exc.code)
        raise
