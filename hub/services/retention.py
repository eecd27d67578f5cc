"""Retention: delete finished runs, with their step rows and trigger events, by age
(``HUB_RUN_RETENTION_DAYS``) or by count per workspace (``HUB_RUN_RETENTION_COUNT``).

Runs are deleted in batches of ``HUB_PRUNE_BATCH``, one short write transaction each, with a
pause between them, so the engine's own writes (one writer on SQLite) get in between and a
large backlog never holds the database for long. Only finished runs go (succeeded, failed,
filtered, cancelled); queued, running and waiting runs are never touched. The audit trail and
AI usage (budgets) are kept. A deleted run's trigger event goes with it, so a delivery older
than the retention that arrives again is not recognised as a duplicate.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import sqlalchemy as sa

from hub.intake.tables import trigger_events
from hub.settings import Settings
from hub.store.db import Database
from hub.store.tables import run_steps, runs, workspaces

FINAL = ("succeeded", "failed", "filtered", "cancelled")
log = logging.getLogger("hub.retention")


@dataclass(frozen=True)
class Retention:
    days: float | None = None
    keep: int | None = None  # finished runs kept per workspace
    batch: int = 500

    @property
    def active(self) -> bool:
        return self.days is not None or self.keep is not None


def policy_from(settings: Settings) -> Retention:
    return Retention(settings.run_retention_days, settings.run_retention_count,
                     settings.prune_batch)


@dataclass
class Pruned:
    runs: int = 0
    steps: int = 0
    events: int = 0
    batches: int = 0
    workspaces: set[str] = field(default_factory=set)

    def line(self) -> str:
        return (f"pruned {self.runs} runs, {self.steps} step rows and {self.events} trigger "
                f"events in {self.batches} batches")


def _finished() -> list[sa.ColumnElement[bool]]:
    return [runs.c.status.in_(FINAL), runs.c.lease_owner.is_(None)]


async def _delete(db: Database, ids: list[str], out: Pruned) -> None:
    async with db.write() as conn:
        # Re-checked inside the write: a run re-run since it was selected is not deleted.
        ids = list((await conn.execute(sa.select(runs.c.id).where(
            runs.c.id.in_(ids), *_finished()))).scalars())
        if not ids:
            return
        steps = await conn.execute(run_steps.delete().where(run_steps.c.run_id.in_(ids)))
        events = await conn.execute(trigger_events.delete().where(
            trigger_events.c.run_id.in_(ids)))
        gone = await conn.execute(runs.delete().where(runs.c.id.in_(ids), *_finished()))
    out.runs += int(gone.rowcount or 0)
    out.steps += int(steps.rowcount or 0)
    out.events += int(events.rowcount or 0)
    out.batches += 1


async def _drain(db: Database, query: sa.Select, policy: Retention, out: Pruned,
                 pause: float) -> None:
    """Delete the runs ``query`` selects, ``policy.batch`` at a time, until none is left."""
    while True:
        async with db.read() as conn:
            ids = list((await conn.execute(query.limit(policy.batch))).scalars())
        if not ids:
            return
        before = out.runs
        await _delete(db, ids, out)
        if out.runs == before:  # all re-run meanwhile: the next selection moves on
            return
        await asyncio.sleep(pause)  # let the engine's writes in


async def prune(db: Database, policy: Retention, *, now: float | None = None,
                pause: float = 0.02) -> Pruned:
    """Apply ``policy`` once; what was deleted."""
    out = Pruned()
    if policy.days is not None:
        cutoff = (now or time.time()) - policy.days * 86400
        # due_at is the finish time of a finished run: (status, due_at) is indexed.
        await _drain(db, sa.select(runs.c.id).where(
            *_finished(), runs.c.due_at < cutoff).order_by(runs.c.due_at), policy, out, pause)
    if policy.keep is not None:
        async with db.read() as conn:
            spaces = list((await conn.execute(sa.select(workspaces.c.id))).scalars())
        for ws in spaces:
            newest_first = sa.select(runs.c.id).where(
                runs.c.workspace_id == ws, *_finished()).order_by(
                runs.c.due_at.desc(), runs.c.id.desc())
            await _drain(db, newest_first.offset(policy.keep), policy, out, pause)
    return out


async def keep_pruning(db: Database, policy: Retention, interval: float) -> None:
    """Prune every ``interval`` seconds until cancelled (``hub serve`` with a retention)."""
    while True:
        try:
            done = await prune(db, policy)
            if done.runs:
                log.info(done.line())
        except Exception:  # noqa: BLE001 - a database hiccup: the next round retries
            log.exception("pruning runs failed; retrying in %.0f s", interval)
        await asyncio.sleep(interval)


def start_pruning(db: Database, settings: Settings) -> asyncio.Task[None] | None:
    """The background prune of ``hub serve``, when a retention is set."""
    policy = policy_from(settings)
    if not policy.active:
        return None
    return asyncio.create_task(keep_pruning(db, policy, settings.prune_interval),
                               name="hub-retention")
