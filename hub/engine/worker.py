"""The worker: claims due runs with a lease, executes them concurrently, keeps leases alive.

The runs table is the queue. A claim is one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)``
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) that also takes over runs whose lease expired
because their worker died; the executor then resumes after the last committed step.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from typing import TYPE_CHECKING

import sqlalchemy as sa

from hub.engine.checkpoint import Checkpointer, LeaseLost
from hub.engine.executor import Claimed, RunExecution
from hub.store.tables import run_steps, runs

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.worker")


class Worker:
    def __init__(self, hub: Hub, *, concurrency: int | None = None,
                 lease_seconds: float | None = None, poll_interval: float | None = None) -> None:
        s = hub.settings
        self.hub = hub
        self.concurrency = concurrency or s.worker_concurrency
        self.lease = lease_seconds or s.lease_seconds
        self.poll = poll_interval or s.poll_interval
        self.owner = f"{socket.gethostname()[:30]}:{os.getpid()}:{secrets.token_hex(4)}"
        self.cp = Checkpointer(hub.db, self.owner)
        self.active: dict[str, asyncio.Task[str | None]] = {}
        self.reasons: dict[str, str] = {}
        self._slot = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [asyncio.create_task(self._loop(), name="hub-worker"),
                       asyncio.create_task(self._heartbeat(), name="hub-heartbeat")]

    async def stop(self, grace: float = 5.0) -> None:
        """Stop claiming, let running runs finish for ``grace`` s, release the rest."""
        self._stopping = True
        self.hub.wake()
        if self.active:
            await asyncio.wait(list(self.active.values()), timeout=grace)
        for run_id in list(self.active):
            self.cancel_local(run_id, "shutdown")
        await asyncio.gather(*self.active.values(), return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.cp.close()

    def cancel_local(self, run_id: str, reason: str = "cancel") -> bool:
        """Cancel a run this worker is executing; ``reason`` is cancel, lost or shutdown."""
        task = self.active.get(run_id)
        if task is None:
            return False
        self.reasons[run_id] = reason
        task.cancel()
        return True

    async def run_until_idle(self, timeout: float = 60.0) -> None:
        """Claim and execute until nothing is due and nothing runs (CLI and tests)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            claimed = await self.claim_and_start(self.concurrency - len(self.active))
            if not claimed and not self.active:
                return
            if self.active:
                await asyncio.wait(list(self.active.values()),
                                   return_when=asyncio.FIRST_COMPLETED, timeout=self.poll)
        raise TimeoutError("runs still active after the timeout")

    # --- claiming -------------------------------------------------------------------------

    async def _loop(self) -> None:
        while not self._stopping:
            free = self.concurrency - len(self.active)
            claimed = 0
            if free > 0:
                try:
                    claimed = await self.claim_and_start(free)
                except Exception:  # noqa: BLE001 - a database hiccup must not kill the worker
                    log.exception("claiming runs failed; retrying")
                    await asyncio.sleep(self.poll)
                    continue
            if claimed and claimed == free:
                self._slot.clear()
                await self._slot.wait()  # full: wait until half the slots are free
            elif not claimed:
                await self.hub.wait_for_work(self.poll)

    async def claim_and_start(self, n: int) -> int:
        if n <= 0:
            return 0
        claimed = await self.claim(n)
        for run in claimed:
            task = asyncio.create_task(self._execute(run), name=f"run-{run.id}")
            self.active[run.id] = task
            task.add_done_callback(lambda _t, rid=run.id: self._done(rid))
        return len(claimed)

    def _done(self, run_id: str) -> None:
        self.active.pop(run_id, None)
        self.reasons.pop(run_id, None)
        if len(self.active) <= self.concurrency // 2:
            self._slot.set()

    async def claim(self, n: int) -> list[Claimed]:
        now = time.time()
        due = sa.select(runs.c.id).where(runs.c.status.in_(("queued", "running")),
                                         runs.c.due_at <= now).order_by(runs.c.due_at).limit(n)
        if self.hub.db.is_postgres:
            due = due.with_for_update(skip_locked=True)
        stmt = runs.update().where(runs.c.id.in_(due.scalar_subquery())).values(
            status="running", lease_owner=self.owner, due_at=now + self.lease,
            claims=runs.c.claims + 1, started_at=sa.func.coalesce(runs.c.started_at, now),
        ).returning(runs.c.id, runs.c.workspace_id, runs.c.zap_id, runs.c.zap_version,
                    runs.c.trigger_data, runs.c.round, runs.c.claims, runs.c.cancel_requested)
        async with self.hub.db.write() as conn:
            claimed = [Claimed(**row._mapping) for row in await conn.execute(stmt)]
            again = [c.id for c in claimed if c.claims > 1 or c.round > 0]
            if again:
                await self._load_prior(conn, claimed, again)
        return claimed

    @staticmethod
    async def _load_prior(conn: sa.ext.asyncio.AsyncConnection, claimed: list[Claimed],
                          ids: list[str]) -> None:
        cols = (run_steps.c.run_id, run_steps.c.seq, run_steps.c.step_id, run_steps.c.round,
                run_steps.c.status, run_steps.c.output)
        by_id = {c.id: c for c in claimed}
        rows = await conn.execute(sa.select(*cols).where(run_steps.c.run_id.in_(ids)))
        for row in rows:
            by_id[row.run_id].prior.append(dict(row._mapping))

    # --- executing ------------------------------------------------------------------------

    async def _execute(self, run: Claimed) -> str | None:
        try:
            if run.cancel_requested:  # cancelled while its previous worker was dying
                self.reasons[run.id] = "cancel"
                return await self._after_cancel(run)
            cz = await self.hub.compiled_zap(run.zap_id, run.zap_version)
            if run.claims == 1 and run.round == 0:
                self.hub.emit({"type": "run.started", "workspace_id": run.workspace_id,
                               "run_id": run.id, "zap_id": run.zap_id})
            await self.hub.payloads.prepare(run.workspace_id)
            return await RunExecution(self.hub, self.cp, run, cz).execute()
        except asyncio.CancelledError:
            return await self._after_cancel(run)
        except LeaseLost:
            log.warning("run %s: lease lost to another worker", run.id)
            return None
        except Exception:  # noqa: BLE001 - a broken run must not kill the worker
            log.exception("run %s: engine error", run.id)
            return await self._release(run, "engine_error")

    async def _after_cancel(self, run: Claimed) -> str | None:
        reason = self.reasons.get(run.id, "shutdown")
        if reason == "lost":
            return None
        if reason == "cancel":
            now = time.time()
            await self._safe_commit(run, {"status": "cancelled", "finished_at": now,
                                          "lease_owner": None, "due_at": now})
            self.hub.metrics.runs_finished.labels(status="cancelled").inc()
            return "cancelled"
        return await self._release(run, "shutdown")

    async def _release(self, run: Claimed, why: str) -> str | None:
        delay = 0.0 if why == "shutdown" else min(self.lease, 5.0)
        await self._safe_commit(run, {"status": "queued", "lease_owner": None,
                                      "due_at": time.time() + delay})
        return "queued"

    async def _safe_commit(self, run: Claimed, update: dict[str, object]) -> None:
        try:
            await self.cp.commit(run.id, run_update=update)
        except LeaseLost:
            pass
        except Exception:  # noqa: BLE001 - the lease will expire and another worker resumes
            log.exception("run %s: could not record %s", run.id, update.get("status"))

    # --- leases ---------------------------------------------------------------------------

    async def _heartbeat(self) -> None:
        interval = min(self.lease / 3, 2.0)
        while True:
            await asyncio.sleep(interval)
            if not self.active:
                continue
            try:
                await self._renew()
            except Exception:  # noqa: BLE001 - next beat retries; the lease has slack
                log.exception("lease renewal failed")

    async def _renew(self) -> None:
        held = list(self.active)
        stmt = runs.update().where(
            runs.c.id.in_(held), runs.c.lease_owner == self.owner, runs.c.status == "running",
        ).values(due_at=time.time() + self.lease).returning(runs.c.id, runs.c.cancel_requested)
        async with self.hub.db.write() as conn:
            rows = (await conn.execute(stmt)).all()
        kept = {r.id for r in rows}
        for row in rows:
            if row.cancel_requested:
                self.cancel_local(row.id, "cancel")
        for run_id in held:
            if run_id not in kept and run_id in self.active:
                self.cancel_local(run_id, "lost")
