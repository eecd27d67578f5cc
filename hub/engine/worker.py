"""The worker: claims due runs with a lease, executes them concurrently, keeps leases alive.

The runs table is the queue. A claim is one ``UPDATE ... WHERE id IN (SELECT ... LIMIT n)``
(``FOR UPDATE SKIP LOCKED`` on PostgreSQL) that also takes over runs whose lease expired
because their worker died; the executor then resumes after the last committed step
(``hub.engine.leases``). A run never loops: engine failures end it (``hub.engine.failures``),
and a run that kills or hangs every worker fails after ``HUB_MAX_RUN_CLAIMS`` claims.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from typing import TYPE_CHECKING

from hub.engine import auditing
from hub.engine.checkpoint import Checkpointer, LeaseLost
from hub.engine.executor import RunExecution, emit_finished
from hub.engine.failures import describe, error_of, is_transient
from hub.engine.leases import TOO_MANY_CLAIMS, Claimed, Leases

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
        self.leases = Leases(hub.db, self.owner, self.lease, s.max_run_claims, s.audit_runs)
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
        """Lease up to ``n`` due runs this worker is not already executing."""
        claimed, poisoned = await self.leases.claim(n, exclude=list(self.active))
        for run in poisoned:
            log.warning("run %s failed: %s (claimed %d times without completing a step)",
                        run.id, TOO_MANY_CLAIMS, run.stalled_claims - 1)
            emit_finished(self.hub, run, "failed", {"code": TOO_MANY_CLAIMS})
        return claimed

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
            execution = RunExecution(self.hub, self.cp, run, cz, fence=self.leases.fence)
            return await execution.execute()
        except asyncio.CancelledError:
            return await self._after_cancel(run)
        except LeaseLost:
            log.warning("run %s: lease lost to another worker; stopped", run.id)
            return None
        except Exception as exc:  # noqa: BLE001 - a broken run must not kill the worker
            return await self._engine_failure(run, exc)
        finally:
            self.leases.drop(run.id)

    async def _engine_failure(self, run: Claimed, exc: Exception) -> str | None:
        """A failure outside any step: fail the run, unless the database is the trouble."""
        if is_transient(exc):
            log.warning("run %s: back to the queue, the database failed: %s", run.id,
                        describe(exc))
            return await self._release(run, "engine_error")
        error = error_of(exc)
        log.warning("run %s failed: %s: %s", run.id, error["code"], error["message"])
        now = time.time()
        if not await self._safe_commit(run, {
                "status": "failed", "error": error, "finished_at": now, "due_at": now,
                "lease_owner": None, "stalled_claims": 0}, final=True):
            return None
        emit_finished(self.hub, run, "failed", error)
        return "failed"

    async def _after_cancel(self, run: Claimed) -> str | None:
        reason = self.reasons.get(run.id, "shutdown")
        if reason == "lost":
            log.warning("run %s: lease lost to another worker; stopped", run.id)
            return None
        if reason == "cancel":
            now = time.time()
            await self._safe_commit(run, {"status": "cancelled", "finished_at": now,
                                          "lease_owner": None, "due_at": now,
                                          "stalled_claims": 0}, final=True)
            self.hub.metrics.runs_finished.labels(status="cancelled").inc()
            return "cancelled"
        return await self._release(run, "shutdown")

    async def _release(self, run: Claimed, why: str) -> str | None:
        update: dict[str, object] = {"status": "queued", "lease_owner": None}
        if why == "shutdown":  # a clean hand-over is no crash: it does not count as a claim
            update.update(due_at=time.time(), stalled_claims=max(run.stalled_claims - 1, 0))
        else:
            update["due_at"] = time.time() + min(self.lease, 5.0)
        await self._safe_commit(run, update)
        return "queued"

    async def _safe_commit(self, run: Claimed, update: dict[str, object],
                           final: bool = False) -> bool:
        entries = [auditing.run_finished(run, str(update["status"]), update.get("error"))] \
            if final and self.hub.settings.audit_runs else []  # type: ignore[arg-type]
        try:
            await self.cp.commit(run.id, run.claims, run_update=update, entries=entries)
        except LeaseLost:
            return False
        except Exception as exc:  # noqa: BLE001 - the lease expires and another worker resumes
            log.warning("run %s: could not record %s: %s", run.id, update.get("status"),
                        describe(exc))
            return False
        return True

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
        renewal = await self.leases.renew(list(self.active))
        for run_id in renewal.cancel:
            self.cancel_local(run_id, "cancel")
        for run_id in renewal.lost:
            self.cancel_local(run_id, "lost")
