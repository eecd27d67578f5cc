"""Checking the audit chain, and reading it back (export, API listing).

``verify`` walks a workspace's records in ``seq`` order and names the first one that breaks
the chain: a gap (a deleted record), a ``prev_hash`` that is not the previous record's hash
(reordered or inserted), a body that does not match its hash (edited), columns that disagree
with the hashed body (edited), or a head that does not match the last record (records removed
from the end).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.audit.chain import GENESIS
from hub.audit.check import COLUMNS, check_rows
from hub.audit.tables import audit_heads, audit_log

BATCH = 10_000
_COLS = tuple(getattr(audit_log.c, name) for name in COLUMNS)


@dataclass
class Verdict:
    """The result of checking one workspace's chain."""

    workspace_id: str
    ok: bool
    checked: int
    head_seq: int
    head_hash: str
    broken_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _page(workspace_id: str, after: int) -> sa.Select:
    """Records ``after < seq <= after + BATCH``: a range, not ``LIMIT``, so the plan is an
    index range scan whatever the table's statistics say."""
    c = audit_log.c
    return sa.select(*_COLS).where(c.workspace_id == workspace_id, c.seq > after,
                                   c.seq <= after + BATCH).order_by(c.seq)


async def _fetcher(conn: AsyncConnection, workspace_id: str) -> Any:
    """A ``fetch(after)`` coroutine; on PostgreSQL straight through asyncpg (rows are
    tuples there; through the result layer the walk is about half as fast)."""
    if conn.dialect.name == "postgresql":
        raw = (await conn.get_raw_connection()).driver_connection
        sql = (f"SELECT {', '.join(COLUMNS)} FROM {audit_log.name} WHERE workspace_id = $1 "
               f"AND seq > $2 AND seq <= $2 + {BATCH} ORDER BY seq")
        return lambda after: raw.fetch(sql, workspace_id, after)

    async def fetch(after: int) -> list[Any]:
        return list((await conn.execute(_page(workspace_id, after))).all())

    return fetch


async def _last_seq(conn: AsyncConnection, workspace_id: str) -> int:
    return (await conn.execute(sa.select(sa.func.max(audit_log.c.seq)).where(
        audit_log.c.workspace_id == workspace_id))).scalar() or 0


async def _walk(conn: AsyncConnection, workspace_id: str) -> tuple[int, str, int, str | None]:
    fetch = await _fetcher(conn, workspace_id)
    last = await _last_seq(conn, workspace_id)
    seq, prev, total = 0, GENESIS, 0
    rows = await fetch(0)
    for lo in range(0, last, BATCH):
        # the next range is read while this one is checked (the database and the hashing
        # overlap)
        ahead = asyncio.ensure_future(fetch(lo + BATCH)) if lo + BATCH < last else None
        await asyncio.sleep(0)  # let it send the query before the hashing takes the loop
        seq, prev, checked, reason = check_rows(rows, seq, prev)
        total += checked
        if reason is not None or ahead is None:
            if ahead is not None:
                await asyncio.gather(ahead, return_exceptions=True)
            return seq, prev, total, reason
        rows = await ahead
    return seq, prev, total, None


def _walk_sqlite(path: str, workspace_id: str) -> tuple[int, str, int, str | None]:
    """The same walk on the stdlib driver in a thread: no per-row async overhead."""
    compiled = _page(workspace_id, 0).compile(dialect=sqlite.dialect())
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        last = conn.execute(f"SELECT max(seq) FROM {audit_log.name} WHERE workspace_id = ?",
                            (workspace_id,)).fetchone()[0] or 0
        seq, prev, total = 0, GENESIS, 0
        for lo in range(0, last, BATCH):
            params = {"workspace_id_1": workspace_id, "seq_1": lo, "seq_2": lo + BATCH}
            rows = conn.execute(str(compiled), [params[k] for k in compiled.positiontup or ()])
            seq, prev, checked, reason = check_rows(rows.fetchall(), seq, prev)
            total += checked
            if reason is not None:
                return seq, prev, total, reason
        return seq, prev, total, None
    finally:
        conn.close()


async def verify(conn: AsyncConnection, workspace_id: str, *,
                 sqlite_path: str | None = None) -> Verdict:
    """Recompute the chain of ``workspace_id``; stop at the first broken record."""
    head = (await conn.execute(sa.select(audit_heads.c.seq, audit_heads.c.hash).where(
        audit_heads.c.workspace_id == workspace_id))).first()
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if sqlite_path:
        seq, prev, checked, reason = await asyncio.to_thread(_walk_sqlite, sqlite_path,
                                                             workspace_id)
    else:
        seq, prev, checked, reason = await _walk(conn, workspace_id)
    if reason is not None:
        return Verdict(workspace_id, False, checked, head_seq, head_hash,
                       broken_seq=seq + 1, reason=reason)
    if (seq, prev) != (head_seq, head_hash):
        return Verdict(workspace_id, False, checked, head_seq, head_hash, broken_seq=seq + 1,
                       reason=f"the head says {head_seq} records; records after {seq} are "
                       "missing or the last one was altered")
    return Verdict(workspace_id, True, checked, head_seq, head_hash)


def record_dict(row: Any, workspace_id: str) -> dict[str, Any]:
    """A record as the API and export show it: the hashed content plus its chain links."""
    return {"workspace_id": workspace_id, **json.loads(row.body), "prev_hash": row.prev_hash,
            "hash": row.hash}


def _filtered(query: sa.Select, filters: dict[str, Any]) -> sa.Select:
    c = audit_log.c
    if filters.get("action"):
        action = filters["action"]
        query = query.where(c.action.like(action[:-1] + "%") if action.endswith("*")
                            else c.action == action)
    for name in ("actor_id", "target_type", "target_id", "run_id"):
        if filters.get(name):
            query = query.where(getattr(c, name) == filters[name])
    if filters.get("since") is not None:
        query = query.where(c.at >= filters["since"])
    if filters.get("until") is not None:
        query = query.where(c.at < filters["until"])
    return query


async def list_records(conn: AsyncConnection, workspace_id: str, *, limit: int,
                       cursor: int | None, filters: dict[str, Any]) -> dict[str, Any]:
    """Newest first; ``next_cursor`` (a seq) gives the next page."""
    query = sa.select(*_COLS).where(audit_log.c.workspace_id == workspace_id)
    if cursor is not None:
        query = query.where(audit_log.c.seq < cursor)
    query = _filtered(query, filters).order_by(audit_log.c.seq.desc()).limit(limit + 1)
    rows = (await conn.execute(query)).all()
    items = [record_dict(r, workspace_id) for r in rows[:limit]]
    return {"items": items, "next_cursor": rows[limit - 1].seq if len(rows) > limit else None}


async def export_records(conn: AsyncConnection, workspace_id: str,
                         filters: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
    """Every matching record, oldest first, in batches."""
    seq = 0
    while True:
        query = sa.select(*_COLS).where(audit_log.c.workspace_id == workspace_id,
                                        audit_log.c.seq > seq)
        rows = (await conn.execute(_filtered(query, filters).order_by(audit_log.c.seq)
                                   .limit(BATCH))).all()
        for row in rows:
            yield record_dict(row, workspace_id)
        if len(rows) < BATCH:
            return
        seq = rows[-1].seq
