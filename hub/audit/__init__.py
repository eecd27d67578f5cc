"""The audit trail: append-only, hash-chained per workspace, written in the same transaction
as the change it records. See ``hub.audit.chain`` (appending) and ``hub.audit.verify``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextvars import ContextVar
from typing import Any

import sqlalchemy as sa

from hub.audit.chain import SYSTEM, Actor, Entry, append, canonical, chain_hash
from hub.audit.tables import audit_heads, audit_log
from hub.audit.verify import Verdict, export_records, list_records, verify
from hub.store.db import Database

__all__ = ["SYSTEM", "Actor", "Entry", "Verdict", "act_as", "append", "audit_heads", "audit_log",
           "canonical", "chain_hash", "current_actor", "export", "list_records", "verify",
           "verify_all"]

# Who the current request or command acts as: set once where the caller is known (the API's
# principal dependency, the CLI), read by the services that record what they change.
_ACTOR: ContextVar[Actor] = ContextVar("hub_audit_actor", default=SYSTEM)


def act_as(actor: Actor) -> None:
    """Record what this request or command changes as done by ``actor``."""
    _ACTOR.set(actor)


def current_actor() -> Actor:
    return _ACTOR.get()


async def verify_all(db: Database, workspace_ids: list[str] | None = None) -> list[Verdict]:
    """Verify the chains of the given workspaces (default: every workspace with records)."""
    async with db.read() as conn:
        if workspace_ids is None:
            workspace_ids = list((await conn.execute(
                sa.select(audit_heads.c.workspace_id).order_by(audit_heads.c.workspace_id)
            )).scalars())
        path = _sqlite_file(db.url)
        return [await verify(conn, ws, sqlite_path=path) for ws in workspace_ids]


def _sqlite_file(url: str) -> str | None:
    """The file behind a file-backed SQLite URL, read directly for speed (else ``None``)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1]
    return path if path and path != ":memory:" else None


async def export(db: Database, workspace_id: str,
                 filters: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Matching records of one workspace, oldest first."""
    async with db.read() as conn:
        async for record in export_records(conn, workspace_id, filters):
            yield record
