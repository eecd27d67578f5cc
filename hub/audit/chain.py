"""Appending to the audit trail: canonical records, hash-chained per workspace.

Each record's ``body`` is canonical JSON (sorted keys, no spaces) of everything it says; its
``hash`` is ``sha256(prev_hash + "\\n" + body)``, so editing, deleting or reordering a record
breaks the chain at that record. Callers append inside the transaction of the change they
record (``append(conn, entries)``), as its last statement: on PostgreSQL the workspace's head
row is locked until the commit, so concurrent transactions chain one after another.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit.tables import audit_heads, audit_log

GENESIS = "0" * 64
#: Largest ``data`` a record may carry (canonical JSON, bytes); larger data is truncated.
MAX_DATA = 16_384


@dataclass(frozen=True)
class Actor:
    """Who did it: ``user`` (with the token used, if any), ``token``, ``system``, ``webhook``."""

    type: str
    id: str | None = None
    token_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": self.type, "id": self.id}
        if self.token_id:
            out["token_id"] = self.token_id
        return out


SYSTEM = Actor("system", "hub")


@dataclass(frozen=True)
class Entry:
    """One thing to record. ``data`` must never hold secrets or payload values."""

    workspace_id: str
    action: str
    actor: Actor = SYSTEM
    target_type: str | None = None
    target_id: str | None = None
    run_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False, default=str)


def chain_hash(prev_hash: str, body: str) -> str:
    return hashlib.sha256(f"{prev_hash}\n{body}".encode()).hexdigest()


def _data(entry: Entry) -> dict[str, Any]:
    text = canonical(entry.data)
    if len(text) <= MAX_DATA:
        return entry.data
    return {"truncated": True, "size": len(text)}


def record_body(entry: Entry, seq: int) -> dict[str, Any]:
    """The canonical content of a record (what its hash covers)."""
    return {"seq": seq, "at": float(entry.at), "action": entry.action,
            "actor": entry.actor.as_dict(),
            "target": {"type": entry.target_type, "id": entry.target_id},
            "run_id": entry.run_id, "data": _data(entry)}


async def _heads(conn: AsyncConnection, workspaces: list[str],
                 lock: bool) -> dict[str, tuple[int, str]]:
    query = sa.select(audit_heads.c.workspace_id, audit_heads.c.seq, audit_heads.c.hash).where(
        audit_heads.c.workspace_id.in_(workspaces)).order_by(audit_heads.c.workspace_id)
    if lock:  # in workspace order, so two appenders never deadlock
        query = query.with_for_update()
    rows = (await conn.execute(query)).all()
    return {r.workspace_id: (r.seq, r.hash) for r in rows}


async def _ensure_heads(conn: AsyncConnection, workspaces: list[str], postgres: bool) -> None:
    known = set((await conn.execute(sa.select(audit_heads.c.workspace_id).where(
        audit_heads.c.workspace_id.in_(workspaces)))).scalars())
    missing = [{"workspace_id": w, "seq": 0, "hash": GENESIS} for w in workspaces
               if w not in known]
    if not missing:
        return
    if postgres:
        from sqlalchemy.dialects.postgresql import insert

        await conn.execute(insert(audit_heads).on_conflict_do_nothing(), missing)
    else:
        await conn.execute(audit_heads.insert(), missing)


#: the head each process last wrote, per (engine, workspace): a guess that saves the head's
#: read; ``append`` checks it in the head's own UPDATE, so a stale guess costs one retry
_LAST: dict[tuple[int, str], tuple[int, str]] = {}
_ADVANCE = audit_heads.update().where(
    audit_heads.c.workspace_id == sa.bindparam("ws"), audit_heads.c.seq == sa.bindparam("os"),
    audit_heads.c.hash == sa.bindparam("oh")).values(seq=sa.bindparam("s"),
                                                     hash=sa.bindparam("h"))
_SET = audit_heads.update().where(audit_heads.c.workspace_id == sa.bindparam("ws")).values(
    seq=sa.bindparam("s"), hash=sa.bindparam("h"))


def _chain(entries: list[Entry],
           heads: dict[str, tuple[int, str]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of ``entries`` chained after ``heads``, and the new heads."""
    heads = dict(heads)
    rows: list[dict[str, Any]] = []
    for entry in entries:
        seq, prev = heads[entry.workspace_id]
        seq += 1
        body = canonical(record_body(entry, seq))
        digest = chain_hash(prev, body)
        heads[entry.workspace_id] = (seq, digest)
        rows.append({"workspace_id": entry.workspace_id, "seq": seq, "at": float(entry.at),
                     "action": entry.action, "actor_type": entry.actor.type,
                     "actor_id": entry.actor.id, "actor_token": entry.actor.token_id or None,
                     "target_type": entry.target_type,
                     "target_id": entry.target_id, "run_id": entry.run_id, "body": body,
                     "prev_hash": prev, "hash": digest})
    return rows, heads


async def _advance(conn: AsyncConnection, entries: list[Entry], ws: str) -> bool:
    """One workspace whose head this process wrote last: advance it only if it is still
    that head (the UPDATE takes the lock and checks), then insert. False: guess again."""
    guess = _LAST.get((id(conn.engine), ws))
    if guess is None:
        return False
    rows, heads = _chain(entries, {ws: guess})
    seq, digest = heads[ws]
    done = await conn.execute(_ADVANCE, {"ws": ws, "os": guess[0], "oh": guess[1], "s": seq,
                                         "h": digest})
    if done.rowcount != 1:
        return False
    await conn.execute(audit_log.insert(), rows)
    _LAST[(id(conn.engine), ws)] = (seq, digest)
    return True


async def append(conn: AsyncConnection, entries: list[Entry]) -> None:
    """Chain and insert ``entries`` in the caller's transaction (make it its last statement)."""
    if not entries:
        return
    postgres = conn.dialect.name == "postgresql"
    workspaces = sorted({e.workspace_id for e in entries})
    if len(workspaces) == 1 and await _advance(conn, entries, workspaces[0]):
        return
    heads = await _heads(conn, workspaces, lock=postgres)
    missing = [w for w in workspaces if w not in heads]
    if missing:  # a workspace's first record: one more round trip, once
        await _ensure_heads(conn, missing, postgres)
        heads.update(await _heads(conn, missing, lock=postgres))
    rows, heads = _chain(entries, heads)
    await conn.execute(audit_log.insert(), rows)
    await conn.execute(_SET, [{"ws": w, "s": s, "h": h} for w, (s, h) in heads.items()])
    for w, head in heads.items():
        _LAST[(id(conn.engine), w)] = head
