"""The intake's PostgreSQL write path: a whole batch of deliveries in ONE statement, one
round trip, its own transaction (autocommit).

The batch travels as arrays (``unnest``); the statement inserts the trigger events with
``ON CONFLICT`` on the dedupe constraint, then the runs of the events it inserted, and
answers for each event whether it was stored or whose earlier run it duplicates. So the
unique constraint decides duplicates across processes; an event outside its dedupe window
takes the expired row's place. A duplicate committed by another process after the
statement's snapshot is found by one more query.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.store.db import Database

if TYPE_CHECKING:
    from hub.intake.store import Event, Outcome

BATCH = sa.text("""
WITH input AS (
  SELECT * FROM unnest(CAST(:event_id AS text[]), CAST(:run_id AS text[]),
                       CAST(:workspace_id AS text[]), CAST(:zap_id AS text[]),
                       CAST(:zap_version AS int[]), CAST(:source AS text[]),
                       CAST(:dedupe_key AS text[]), CAST(:blob AS bytea[]),
                       CAST(:now AS float8[]), CAST(:expires_at AS float8[]))
    AS t(event_id, run_id, workspace_id, zap_id, zap_version, source, dedupe_key, blob, now,
         expires_at)
), stored AS (
  INSERT INTO trigger_events AS e (id, workspace_id, zap_id, source, dedupe_key, run_id,
                                   created_at, expires_at)
  SELECT event_id, workspace_id, zap_id, source, dedupe_key,
         CASE WHEN blob IS NULL THEN NULL ELSE run_id END, now, expires_at FROM input
  ON CONFLICT ON CONSTRAINT uq_trigger_events_dedupe DO UPDATE
    SET id = EXCLUDED.id, workspace_id = EXCLUDED.workspace_id, source = EXCLUDED.source,
        run_id = EXCLUDED.run_id, created_at = EXCLUDED.created_at,
        expires_at = EXCLUDED.expires_at
    WHERE e.expires_at IS NOT NULL AND e.expires_at <= EXCLUDED.created_at
  RETURNING e.id
), started AS (
  INSERT INTO runs (id, workspace_id, zap_id, zap_version, status, source, trigger_data,
                    created_at, due_at, started_by)
  SELECT i.run_id, i.workspace_id, i.zap_id, i.zap_version, 'queued', i.source, i.blob, i.now,
         i.now, (SELECT v.created_by FROM zap_versions v  -- acts for the zap's owner
                 WHERE v.zap_id = i.zap_id AND v.version = i.zap_version)
  FROM input i JOIN stored s ON s.id = i.event_id WHERE i.blob IS NOT NULL
  RETURNING id
)
SELECT i.event_id, s.id IS NOT NULL AS fresh, old.run_id AS earlier, old.id AS earlier_event
FROM input i LEFT JOIN stored s ON s.id = i.event_id
LEFT JOIN trigger_events old ON s.id IS NULL AND old.zap_id = i.zap_id
                             AND old.dedupe_key = i.dedupe_key
""")

Resolve = Callable[[list["Event"], dict[Any, "str | None"]], tuple[list["Event"],
                                                                   list["Outcome"]]]


def _params(events: list[Event]) -> dict[str, list[Any]]:
    return {"event_id": [e.event_id for e in events], "run_id": [e.run_id for e in events],
            "workspace_id": [e.workspace_id for e in events],
            "zap_id": [e.zap_id for e in events], "zap_version": [e.zap_version for e in events],
            "source": [e.source for e in events], "dedupe_key": [e.dedupe_key for e in events],
            "blob": [e.blob for e in events], "now": [e.now for e in events],
            "expires_at": [e.expires_at for e in events]}


class PostgresBatchWriter:
    """Writes batches of trigger events (without trigger state) in one statement each."""

    def __init__(self, db: Database) -> None:
        self.engine = db.writer.execution_options(isolation_level="AUTOCOMMIT")

    async def write(self, events: list[Event], resolve: Resolve) -> list[Outcome]:
        from hub.intake.store import Outcome

        fresh, _ = resolve(events, {})  # duplicates inside the batch: the first one stands
        found: dict[tuple[str, str | None], str | None] = {}
        async with self.engine.connect() as conn:
            rows = {r.event_id: r for r in await conn.execute(BATCH, _params(fresh))}
            late = [e for e in fresh if not rows[e.event_id].fresh
                    and rows[e.event_id].earlier_event is None]
            if late:  # committed by another process after this statement's snapshot
                found = await _earlier(conn, late)
        answers: dict[str, Outcome] = {}
        first: dict[tuple[str, str | None], str] = {}
        for ev in fresh:
            row = rows[ev.event_id]
            if row.fresh:
                answers[ev.event_id] = Outcome(ev.run_id if ev.blob is not None else None, False)
            elif row.earlier_event is not None:
                answers[ev.event_id] = Outcome(row.earlier, True)
            else:
                answers[ev.event_id] = Outcome(found.get((ev.zap_id, ev.dedupe_key)), True)
            if ev.dedupe_key is not None:
                first[(ev.zap_id, ev.dedupe_key)] = ev.event_id
        out: list[Outcome] = []
        for ev in events:
            answer = answers.get(ev.event_id)
            if answer is None:  # repeats an event earlier in this batch
                answer = Outcome(answers[first[(ev.zap_id, ev.dedupe_key)]].run_id, True)
            out.append(answer)
        return out


async def _earlier(conn: Any, events: list[Event]) -> dict[tuple[str, str | None], str | None]:
    from hub.intake.tables import trigger_events

    t = trigger_events.c
    keys = [(e.zap_id, e.dedupe_key) for e in events]
    rows = await conn.execute(sa.select(t.zap_id, t.dedupe_key, t.run_id).where(
        sa.tuple_(t.zap_id, t.dedupe_key).in_(keys)))
    return {(r.zap_id, r.dedupe_key): r.run_id for r in rows}
