"""Fair claiming: which due runs a claim takes, interleaving workspaces.

One workspace's flood must not starve the others (issue 14). A claim first lists the
workspaces with due runs, the one waiting longest first (one probe each of the partial index
``ix_runs_due``, however long a queue is), then takes runs round-robin across them: the oldest
due run of each workspace, then the second of each, and so on, up to the free slots. On
PostgreSQL without a cap that choice is a subquery of the claim's UPDATE, so a claim is still
one statement.

``HUB_WORKSPACE_CONCURRENCY`` caps the runs of one workspace running at once (a live lease, on
any node). On PostgreSQL the claim then locks the workspace rows (``FOR NO KEY UPDATE``, in id
order, so claims never deadlock) before it counts, so claims on several nodes at once cannot
overshoot the cap; on SQLite the single writer already serialises claims.
"""

from __future__ import annotations

from itertools import zip_longest
from typing import Any

import sqlalchemy as sa

from hub.store.db import Database
from hub.store.tables import runs, workspaces

DUE = ("queued", "running", "waiting")  # waiting: a delay, approval or called run is due


def _due_in(workspace_id: Any, now: Any, exclude: list[str], n: int,
            lock: bool) -> sa.Select[Any]:
    """The ``n`` oldest due runs of one workspace (rows locked, skipping locked ones)."""
    q = sa.select(runs.c.id, runs.c.workspace_id, runs.c.due_at).where(
        runs.c.workspace_id == workspace_id, runs.c.status.in_(DUE), runs.c.due_at <= now)
    if exclude:
        q = q.where(runs.c.id.not_in(exclude))
    q = q.order_by(runs.c.due_at).limit(n)
    return q.with_for_update(skip_locked=True) if lock else q


async def _waiting(conn: Any, now: Any, n: int) -> list[str]:
    """Workspaces with a due run, the one whose oldest due run waits longest first."""
    oldest = sa.select(sa.func.min(runs.c.due_at)).where(
        runs.c.workspace_id == workspaces.c.id, runs.c.status.in_(DUE)).scalar_subquery()
    rows = await conn.execute(sa.select(workspaces.c.id, oldest.label("oldest")).where(
        oldest <= now).order_by(sa.text("oldest")).limit(n))
    return [r.id for r in rows]


async def _room(conn: Any, db: Database, ids: list[str], cap: int) -> dict[str, int]:
    """How many more runs each workspace may start under the cap (workspaces locked first)."""
    if db.is_postgres:
        await conn.execute(sa.select(workspaces.c.id).where(workspaces.c.id.in_(ids)).order_by(
            workspaces.c.id).with_for_update(key_share=True))
    busy = dict((await conn.execute(sa.select(runs.c.workspace_id, sa.func.count()).where(
        runs.c.workspace_id.in_(ids), runs.c.status == "running",
        runs.c.due_at > db.now()).group_by(runs.c.workspace_id))).all())
    return {w: cap - busy.get(w, 0) for w in ids if cap - busy.get(w, 0) > 0}


# PostgreSQL without a cap: the same choice in one subquery of the claim's UPDATE (no extra
# round trip). The window numbers each workspace's due runs, but only the at most ``n`` each
# that its LATERAL read through the index: never a whole queue.
_NOW = "CAST(extract(epoch FROM statement_timestamp()) AS float8)"  # as ``Database.now``
_INTERLEAVED = sa.text("""
SELECT x.id FROM (
  SELECT r.id, r.due_at, row_number() OVER (PARTITION BY w.id ORDER BY r.due_at) AS turn
  FROM (SELECT ws.id FROM workspaces ws
        WHERE (SELECT min(q.due_at) FROM runs q WHERE q.workspace_id = ws.id
               AND q.status IN ('queued', 'running', 'waiting')) <= :now:
        ORDER BY (SELECT min(q.due_at) FROM runs q WHERE q.workspace_id = ws.id
                  AND q.status IN ('queued', 'running', 'waiting'))
        LIMIT :n) AS w
  CROSS JOIN LATERAL (
    SELECT q.id, q.due_at FROM runs q
    WHERE q.workspace_id = w.id AND q.status IN ('queued', 'running', 'waiting')
      AND q.due_at <= :now:
      AND q.id <> ALL(CAST(:exclude AS text[]))
    ORDER BY q.due_at LIMIT :n FOR UPDATE SKIP LOCKED) AS r
) AS x ORDER BY x.turn, x.due_at LIMIT :n
""".replace(":now:", _NOW)).columns(id=sa.String)


async def pick_due(conn: Any, db: Database, n: int, exclude: list[str],
                   cap: int | None) -> list[str] | sa.ScalarSelect[Any]:
    """The runs a claim of ``n`` takes: their ids, or a subquery selecting them.

    ``cap``: most runs of one workspace running at once (``None``: no cap).
    """
    if db.is_postgres and cap is None:
        return _INTERLEAVED.bindparams(n=n, exclude=exclude).subquery(
            ).select().scalar_subquery()
    now = db.now(stable=True)
    ids = await _waiting(conn, now, n)
    room = await _room(conn, db, ids, cap) if cap is not None and ids else dict.fromkeys(
        ids, n)
    if not room:
        return []
    lock = db.is_postgres
    if len(room) == 1:  # the common case: one statement claims them
        [(workspace_id, k)] = room.items()
        return _due_in(workspace_id, now, exclude, min(k, n), lock).with_only_columns(
            runs.c.id).scalar_subquery()
    arms = [sa.select(sa.text("*")).select_from(
        _due_in(w, now, exclude, min(k, n), lock).subquery()) for w, k in room.items()]
    rows = (await conn.execute(sa.union_all(*arms))).all()
    queues: dict[str, list[Any]] = {w: [] for w in room}
    for row in sorted(rows, key=lambda r: r.due_at):
        queues[row.workspace_id].append(row.id)
    interleaved = [i for turn in zip_longest(*queues.values()) for i in turn if i is not None]
    return interleaved[:n]
