"""Leases on runs: claim due runs, renew them, and fence every step's side effect.

A claim sets ``lease_owner`` (this worker), ``due_at`` (the lease's end) and increments
``claims``: the lease generation, a fencing token every later write of this claim checks, so
a worker that lost a run (frozen, cut off) can never write to it again. The lease's end is
computed once the write lock is held (SQLite) or by the server's clock when the statement runs
(PostgreSQL, ``Database.now``), so a long wait for the lock never writes an expired lease.

Each held lease also has a local ``valid_until`` on the monotonic clock, taken *before* the
round trip that last claimed or renewed it, minus a safety margin: until then no other worker
can have taken the run, so the fence before a step costs nothing. Past it, the fence renews
the lease in the database first and stops the run if it was lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hub import audit
from hub.engine.auditing import run_started
from hub.engine.checkpoint import LeaseLost
from hub.store.db import Database
from hub.store.tables import run_steps, runs

CLAIMED = (runs.c.id, runs.c.workspace_id, runs.c.zap_id, runs.c.zap_version,
           runs.c.trigger_data, runs.c.round, runs.c.claims, runs.c.stalled_claims,
           runs.c.cancel_requested)
TOO_MANY_CLAIMS = "too_many_claims"


@dataclass
class Claimed:
    """A run this worker holds the lease on, with its committed step rows."""

    id: str
    workspace_id: str
    zap_id: str
    zap_version: int
    trigger_data: bytes
    round: int
    claims: int  # the lease generation: every write of this claim is fenced by it
    stalled_claims: int = 1  # claims since the last committed step, this one included
    cancel_requested: bool = False
    prior: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Lease:
    """This worker's hold on one run."""

    run_id: str
    generation: int
    valid_until: float  # time.monotonic(); before it no other worker can hold the run


@dataclass
class Renewal:
    """What a renewal found: leases extended, cancellations asked, leases another claim took.

    A run in none of them was released by this worker itself (finished or re-queued).
    """

    kept: set[str] = field(default_factory=set)
    cancel: set[str] = field(default_factory=set)
    lost: set[str] = field(default_factory=set)


class Leases:
    """Claims, renews and checks the leases of one worker (``owner``)."""

    def __init__(self, db: Database, owner: str, seconds: float, max_claims: int,
                 audited: bool = True) -> None:
        self.db, self.owner, self.seconds, self.max_claims = db, owner, seconds, max_claims
        self.audited = audited  # record each run's start in the claim's transaction
        # covers the time between the fence and the side effect, and clock drift
        self.margin = min(seconds / 4, 2.0)
        self.held: dict[str, Lease] = {}

    def _hold(self, run_id: str, generation: int, since: float) -> None:
        self.held[run_id] = Lease(run_id, generation, since + self.seconds - self.margin)

    def drop(self, run_id: str) -> None:
        self.held.pop(run_id, None)

    async def claim(self, n: int, exclude: list[str]) -> tuple[list[Claimed], list[Claimed]]:
        """Lease up to ``n`` due runs (never one in ``exclude``).

        Returns the runs to execute and the runs this claim failed instead because they were
        claimed more than ``max_claims`` times without a committed step (``too_many_claims``).
        """
        since = time.monotonic()
        async with self.db.write() as conn:
            now = self.db.now()
            due = sa.select(runs.c.id).where(runs.c.status.in_(("queued", "running", "waiting")),
                                             runs.c.due_at <= self.db.now(stable=True))
            if exclude:
                due = due.where(runs.c.id.not_in(exclude))
            due = due.order_by(runs.c.due_at).limit(n)
            if self.db.is_postgres:
                due = due.with_for_update(skip_locked=True)
            stmt = runs.update().where(runs.c.id.in_(due.scalar_subquery())).values(
                status="running", lease_owner=self.owner, due_at=now + self.seconds,
                claims=runs.c.claims + 1, stalled_claims=runs.c.stalled_claims + 1,
                started_at=sa.func.coalesce(runs.c.started_at, now)).returning(*CLAIMED)
            claimed = [Claimed(**row._mapping) for row in await conn.execute(stmt)]
            poisoned = [c for c in claimed
                        if c.stalled_claims > self.max_claims and not c.cancel_requested]
            if poisoned:
                await self._fail_poisoned(conn, poisoned, now)
            bad = {c.id for c in poisoned}
            claimed = [c for c in claimed if c.id not in bad]
            again = [c.id for c in claimed if c.claims > 1 or c.round > 0]
            if again:
                await _load_prior(conn, claimed, again)
            if self.audited:
                await audit.append(conn, [run_started(c) for c in claimed
                                          if c.claims == 1 and c.round == 0])
        for c in claimed:
            self._hold(c.id, c.claims, since)
        return claimed, poisoned

    async def _fail_poisoned(self, conn: Any, poisoned: list[Claimed], now: Any) -> None:
        error = {"code": TOO_MANY_CLAIMS, "message": (
            f"the run was claimed {self.max_claims} times without completing a step: each "
            "worker that ran it crashed, hung or lost it (HUB_MAX_RUN_CLAIMS)")}
        await conn.execute(runs.update().where(runs.c.id.in_([c.id for c in poisoned])).values(
            status="failed", error=error, finished_at=now, due_at=now, lease_owner=None,
            stalled_claims=0))

    async def renew(self, run_ids: list[str]) -> Renewal:
        """Extend the held leases of ``run_ids`` that are still ours (same generation)."""
        leases = {r: self.held[r] for r in run_ids if r in self.held}
        if not leases:
            return Renewal()
        since = time.monotonic()
        ours = sa.or_(*(sa.and_(runs.c.id == lease.run_id, runs.c.claims == lease.generation)
                        for lease in leases.values()))
        async with self.db.write() as conn:
            stmt = runs.update().where(
                ours, runs.c.lease_owner == self.owner, runs.c.status == "running",
            ).values(due_at=self.db.now() + self.seconds).returning(
                runs.c.id, runs.c.claims, runs.c.cancel_requested)
            rows = (await conn.execute(stmt)).all()
            missing = set(leases) - {r.id for r in rows}
            generations: dict[str, int] = {}
            if missing:  # taken by a later claim, or released by this worker a moment ago?
                found = await conn.execute(sa.select(runs.c.id, runs.c.claims).where(
                    runs.c.id.in_(missing)))
                generations = {row.id: row.claims for row in found}
        for row in rows:
            self._hold(row.id, row.claims, since)
        return Renewal(kept={r.id for r in rows},
                       cancel={r.id for r in rows if r.cancel_requested},
                       lost={r for r in missing if generations.get(r) != leases[r].generation})

    async def fence(self, run_id: str) -> None:
        """Raise ``LeaseLost`` unless this worker surely still holds ``run_id``.

        Free while the local validity lasts; past it, one renewal round trip.
        """
        lease = self.held.get(run_id)
        if lease is None:
            raise LeaseLost(run_id)
        if time.monotonic() < lease.valid_until:
            return
        if run_id not in (await self.renew([run_id])).kept:
            self.drop(run_id)
            raise LeaseLost(run_id)


async def _load_prior(conn: Any, claimed: list[Claimed], ids: list[str]) -> None:
    cols = (run_steps.c.run_id, run_steps.c.seq, run_steps.c.step_id, run_steps.c.round,
            run_steps.c.status, run_steps.c.output)
    by_id = {c.id: c for c in claimed}
    rows = await conn.execute(sa.select(*cols).where(run_steps.c.run_id.in_(ids)))
    for row in rows:
        by_id[row.run_id].prior.append(dict(row._mapping))
