"""Execute a claimed run from its last committed step to the end, checkpointing each step.

Whatever goes wrong inside a step (an expression, an output that cannot be stored, any
unexpected exception) fails that step's attempt with a stable code, retried by the step's
policy; what goes wrong outside any step (trigger data that cannot be read) fails the run.
Before each step's side effect, ``fence`` checks that this worker still holds the run's lease.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from hub import tracing
from hub.ai.governance import governor_for
from hub.approvals.sensitive import original_write
from hub.egress import step_http
from hub.engine import auditing, flow, loops
from hub.engine.approvals import Approved, gate
from hub.engine.calls import Caller, RunCalls
from hub.engine.checkpoint import Checkpointer, LeaseLost, wake_write
from hub.engine.failures import (
    INPUT_UNSTORABLE,
    OUTPUT_UNSTORABLE,
    describe,
    error_of,
    is_transient,
)
from hub.engine.leases import Claimed
from hub.engine.steps import Attempt, backoff_delay, run_attempt, when_attempt
from hub.errors import HubError
from hub.expressions import ExpressionError
from hub.oauth import step_oauth
from hub.sdk import StepContext
from hub.tables.access import step_tables
from hub.vault.engine import redact_attempt, step_credentials
from hub.zaps import CompiledStep, CompiledZap

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.engine")
DONE = ("succeeded", "skipped")
PAYLOAD_UNREADABLE = "payload_unreadable"  # stored run data that cannot be decoded

Fence = Callable[[str], Awaitable[None]]


async def _unfenced(run_id: str) -> None:
    return None


def emit_finished(hub: Hub, run: Claimed, status: str, error: dict[str, Any] | None, *,
                  broadcast: bool = True) -> None:
    """Count and announce a run's end; wake its waiters (``broadcast``: on every node)."""
    hub.run_ended(run.id, broadcast=broadcast)
    hub.metrics.runs_finished.labels(status=status).inc()
    hub.emit({"type": "run.finished", "workspace_id": run.workspace_id, "run_id": run.id,
              "zap_id": run.zap_id, "status": status, "error_code": (error or {}).get("code")})


class RunExecution:
    def __init__(self, hub: Hub, cp: Checkpointer, run: Claimed, cz: CompiledZap,
                 fence: Fence | None = None) -> None:
        self.hub, self.cp, self.run, self.cz = hub, cp, run, cz
        self.fence = fence or _unfenced
        self.ctx: dict[str, Any] = {"trigger": None, "steps": {}, "vars": cz.zap.vars}
        self.seq = max((r["seq"] for r in run.prior), default=0)
        self.done: set[str] = set()
        self.tries: dict[str, int] = {}  # attempts per step, all rounds
        self.round_tries: dict[str, int] = {}  # attempts per step, this round
        self.last_output: Any = None
        self.stopped = False
        self.top = {cs.step.id for cs in cz.steps}
        self.status_of: dict[str, str] = {}  # committed status per step key
        self.nested: dict[str, Any] = {}  # outputs of loop iterations' steps, by step key
        self.waits: dict[str, dict[str, Any]] = {}  # suspended steps: wait and output
        self.on_failure_ids = {cs.step.id for cs in cz.on_failure}
        # the last row of this round, if it failed a step for good: only the on_failure path
        # commits such a row before the run ends, so the worker died during on_failure
        self.last_failure: tuple[str, dict[str, Any]] | None = None
        self.audited = hub.settings.audit_runs
        self.audit: list[Any] = []  # entries for the next checkpoint (same transaction)
        self.writes: list[Any] = []  # extra writes of the next checkpoint
        self.verdicts: list[dict[str, Any]] = []  # the current attempt's guardrail verdicts

    def _decode(self, blob: bytes | None) -> Any:
        return self.hub.payloads.decode(self.run.workspace_id, blob)

    def _encode(self, value: Any) -> bytes | None:
        return None if value is None else self.hub.payloads.encode(self.run.workspace_id, value)

    def _load(self) -> dict[str, Any] | None:
        """Decode the trigger data and the committed steps; the run's error if one fails."""
        what = "trigger data"
        try:
            self.ctx["trigger"] = self._decode(self.run.trigger_data)
            for row in sorted(self.run.prior, key=lambda r: r["seq"]):
                what = f"output of step {row['step_id']}"
                self._load_row(row)
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("run %s: %s cannot be read: %s", self.run.id, what, describe(exc))
            return error_of(exc, code=PAYLOAD_UNREADABLE, where=what)
        return None

    def _load_row(self, row: dict[str, Any]) -> None:
        sid = row["step_id"]
        self.tries[sid] = self.tries.get(sid, 0) + 1
        if row["round"] == self.run.round:
            self.round_tries[sid] = self.round_tries.get(sid, 0) + 1
        if row["status"] == "waiting":
            self.waits[sid] = flow.wait_of(row, self._decode(row["output"]))
            return
        self.waits.pop(sid, None)  # the wait ended (done, or failed: a re-run starts over)
        if row["round"] == self.run.round and sid not in self.on_failure_ids:
            final = row["status"] == "failed" and "retry_in" not in (row["error"] or {})
            self.last_failure = (sid, row["error"] or {}) if final else None
        if row["status"] in DONE or row["status"] == "filtered":
            self._load_done(sid, row["status"], self._decode(row["output"]))

    def _load_done(self, sid: str, status: str, output: Any) -> None:
        self.done.add(sid)
        self.status_of[sid] = status
        if flow.is_loop_key(sid):
            self.nested[sid] = output
            return
        self.ctx["steps"][sid] = output
        if sid not in self.top:  # a branch's step: its paths step decides what follows
            return
        if status != "skipped":  # as in a live run: a skip keeps the last output
            self.last_output = output
        self.stopped = self.stopped or status == "filtered"

    async def execute(self) -> str:
        """Run the remaining steps; return the run's final (or requeued) status."""
        unreadable = self._load()
        if unreadable is not None:
            return await self._finish("failed", None, error=unreadable)
        if self.stopped:
            return await self._finish("filtered", None)
        if self.last_failure and self.on_failure_ids:
            return await self._resume_on_failure(self.last_failure)
        pending = [(i, cs) for i, cs in enumerate(self.cz.steps) if cs.step.id not in self.done]
        for n, (index, cs) in enumerate(pending):
            status = await self._step(index, cs, n == len(pending) - 1)
            if status is not None:
                return status
        return await self._succeed()  # nothing left to run (e.g. resumed after the last step)

    async def _resume_on_failure(self, failure: tuple[str, dict[str, Any]]) -> str:
        """The worker died while the on_failure steps ran: finish them, then fail the run."""
        error = {k: v for k, v in failure[1].items() if k != "retry_in"}
        error["step_id"] = failure[0]
        await flow.on_failure(self, error)
        return await self._finish("failed", None, error=error)

    async def _step(self, index: int, cs: CompiledStep, last: bool) -> str | None:
        gated = await gate(self, cs)  # approval: may park the run (waiting) or end it
        if isinstance(gated, str):
            return gated
        started = time.time()
        if cs.step.use in loops.HOLDERS:
            held = await self._guarded(loops.run_holder(self, cs, index, started), cs, started)
            if isinstance(held, str):  # a step inside ended or suspended the run
                return held
            att = held
        else:
            att = await self._guarded(self._attempt(cs, started, approved=gated), cs, started)
        row = self._row(cs, index, att)  # an output that cannot be stored fails the attempt
        if att.original is not None:  # what the guardrails redacted or blocked: sealed apart
            self.writes.append(original_write(self.hub.payloads, row, *att.original))
        if self.audited:
            self.audit += auditing.step_entries(self.run, cs, row, self.verdicts)
        self.verdicts = []
        try:
            return await self._record(cs, att, row, last)
        except LeaseLost:
            raise
        except Exception as exc:  # e.g. the database refused the step's record
            if is_transient(exc):
                raise
            return await self._unrecordable(cs, row, exc)

    async def _guarded(self, work: Awaitable[Any], cs: CompiledStep, started: float) -> Any:
        """``work``'s result; an unexpected exception becomes the step's failed attempt."""
        try:
            return await work
        except LeaseLost:
            raise
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning("run %s step %s: engine error: %s", self.run.id, cs.step.id,
                        describe(exc))
            return Attempt(error=error_of(exc), retryable=not isinstance(exc, HubError),
                           started=started)

    async def _attempt(self, cs: CompiledStep, started: float, key: str | None = None,
                       scope: dict[str, Any] | None = None,
                       approved: Approved | None = None) -> Attempt:
        key, scope = key or cs.step.id, scope if scope is not None else self.ctx
        if key in self.waits:  # resumed: the step's wait ended, or not yet
            return await flow.resume_wait(self, key, started)
        skip = None if approved is not None else when_attempt(cs, scope, started)
        if skip is not None:  # an approved step's condition held when it was approved
            return skip
        try:
            creds = await step_credentials(self.hub, self.run.workspace_id, cs, self.run.id)
        except HubError as exc:  # e.g. connection_not_found, needs_reauth: not retryable
            return Attempt(error={"code": exc.code, "message": exc.message}, started=started)
        gov = await governor_for(  # the workspace's AI governance; a zap cannot turn it off
            self.hub, workspace_id=self.run.workspace_id, run_id=self.run.id,
            zap_id=self.run.zap_id, step_id=cs.step.id,
            action=self.hub.registry.action_instance(cs.step.use))
        step_ctx = self.step_context(cs, creds, gov, key)
        await self.fence(self.run.id)  # the side effect follows: do we still own the run?
        first = Attempt(started=started, input=approved.input, approved=True) \
            if approved is not None else started
        with tracing.span(f"step {cs.step.use}", **{"hub.step_id": cs.step.id,
                          "hub.action": cs.step.use, "hub.attempt": step_ctx.attempt}) as sp:
            att = await run_attempt(cs, self.hub.registry, scope, step_ctx, first, gov)
            tracing.outcome(sp, (att.error or {}).get("code"))
        self.verdicts = gov.summary() if gov is not None else []
        redact_attempt(att, creds)  # an API echoing a token must not store it
        flow.check_wait(self.hub.settings, att)
        self.hub.metrics.step_duration.labels(
            action=cs.step.use, status="failed" if att.error else "succeeded",
        ).observe(time.time() - started)
        return att

    def step_context(self, cs: CompiledStep, creds: Any, gov: Any, key: str) -> StepContext:
        hub, ws = self.hub, self.run.workspace_id
        calls = RunCalls(hub.db, hub.payloads, hub.wake, max_depth=hub.settings.max_call_depth,
                         caller=Caller(ws, self.run.id, self.run.round))
        return StepContext(
            ai=gov.gateway if gov is not None else None,
            run_id=self.run.id, step_id=cs.step.id, attempt=self.tries.get(key, 0) + 1,
            idempotency_key=f"{self.run.id}:{key}", workspace_id=ws,
            creds=creds, http=step_http(hub.http, hub.registry, cs),
            tables=step_tables(hub, ws), zaps=calls,
            oauth=step_oauth(hub, cs.step.use, cs.step.connection, ws))

    async def _record(self, cs: CompiledStep, att: Attempt, row: dict[str, Any],
                      last: bool) -> str | None:
        if att.error:
            return await self._fail(cs, att, row)
        if att.wait is not None:
            return await flow.suspend(self, cs.step.id, att, row)
        self.ctx["steps"][cs.step.id] = att.output
        if not att.skipped:
            self.last_output = att.output
        if att.stop:
            return await self._finish(att.stop, None, steps=[row])
        if last:
            return await self._succeed(steps=[row])
        await self._checkpoint(steps=[row])
        self._emit_step(row)
        return None

    def _row(self, cs: CompiledStep, index: int, att: Attempt,
             key: str | None = None) -> dict[str, Any]:
        inp, out = self._store(att)
        self.seq += 1
        sid = key or cs.step.id
        self.tries[sid] = self.tries.get(sid, 0) + 1
        self.round_tries[sid] = self.round_tries.get(sid, 0) + 1
        status = ("failed" if att.error else "skipped" if att.skipped
                  else "filtered" if att.stop else "succeeded")
        return {"run_id": self.run.id, "seq": self.seq, "workspace_id": self.run.workspace_id,
                "step_id": sid, "step_index": index, "round": self.run.round,
                "attempt": self.tries[sid], "status": status, "input": inp, "output": out,
                "error": att.error, "started_at": att.started, "finished_at": time.time(),
                "idempotency_key": f"{self.run.id}:{sid}"}

    def _store(self, att: Attempt) -> tuple[bytes | None, bytes | None]:
        """The attempt's input and output encoded for storage; what cannot be is dropped and,
        unless the attempt already failed, fails it (not retryable: it would happen again)."""
        blobs: list[bytes | None] = []
        for name, code in (("input", INPUT_UNSTORABLE), ("output", OUTPUT_UNSTORABLE)):
            try:
                blobs.append(self._encode(getattr(att, name)))
            except Exception as exc:  # noqa: BLE001 - e.g. nested deeper than the encoder allows
                log.warning("run %s: a step %s cannot be stored: %s", self.run.id, name,
                            describe(exc))
                setattr(att, name, None)
                blobs.append(None)
                if att.error is None or name == "output":
                    att.error = {"code": code,
                                 "message": f"the step's {name} cannot be stored: {describe(exc)}"}
                    att.stop, att.retryable = None, False
        return blobs[0], blobs[1]

    async def _unrecordable(self, cs: CompiledStep, row: dict[str, Any],
                            exc: Exception) -> str:
        """The step's record was refused: store it bare as a failure instead, and end the run."""
        message = f"the step's record cannot be stored: {describe(exc)}"
        log.warning("run %s step %s: %s", self.run.id, cs.step.id, message)
        error = {"code": "engine_error", "message": message}
        row.update(status="failed", input=None, output=None, error=error)
        return await self._finish("failed", None, error={**error, "step_id": cs.step.id},
                                  steps=[row])

    async def _checkpoint(self, *, steps: list[dict[str, Any]] | None = None,
                          run_update: dict[str, Any] | None = None,
                          wake: str | None = None, **extra: Any) -> None:
        """Commit through the group checkpointer, fenced by this claim's generation."""
        if steps and self.run.stalled_claims > 1:  # progress after claims that made none
            run_update = {"stalled_claims": 0, **(run_update or {})}
        if self.audit:
            extra["entries"] = self.audit + list(extra.get("entries") or [])
            self.audit = []
        if self.writes:
            extra["writes"] = self.writes + list(extra.get("writes") or [])
            self.writes = []
        if wake:  # a waiting run (the parent of one that ended) becomes due, same transaction
            extra["writes"] = [*(extra.get("writes") or []), wake_write(self.hub.db, wake)]
        await self.cp.commit(self.run.id, self.run.claims, steps=steps, run_update=run_update,
                             **extra)
        if steps:
            self.run.stalled_claims = 0

    async def _succeed(self, steps: list[dict[str, Any]] | None = None) -> str:
        try:
            result = self.last_output if self.cz.output is None else self.cz.output.render(self.ctx)
        except ExpressionError as exc:
            error = {"code": exc.code, "message": f"output: {exc}"}
            return await self._finish("failed", None, error=error, steps=steps)
        except Exception as exc:  # noqa: BLE001 - any evaluation failure fails the run
            error = error_of(exc, code="expression_error", where="output")
            return await self._finish("failed", None, error=error, steps=steps)
        return await self._finish("succeeded", result, steps=steps)

    async def _fail(self, cs: CompiledStep, att: Attempt, row: dict[str, Any],
                    key: str | None = None, also: list[dict[str, Any]] | None = None) -> str:
        """Retry the step later or fail the run; ``also``: other failed rows to record first
        (failures of concurrent loop iterations; ``row``'s failure decides)."""
        sid, rows = key or cs.step.id, [*(also or []), row]
        if also:  # renumbered so that the deciding row is the last one
            for failed in rows:
                failed["seq"] = self.seq = self.seq + 1
        if att.retryable and self.round_tries.get(sid, 0) < cs.retry.attempts:
            delay = backoff_delay(cs.retry, self.round_tries[sid])
            wait = (att.error or {}).get("retry_after")  # a provider's Retry-After (issue 6)
            if isinstance(wait, int | float) and wait > 0:
                delay = max(delay, min(float(wait), cs.retry.max_backoff))
            for failed in rows:  # all of them run again when the run resumes
                failed["error"] = {**(failed["error"] or {}), "retry_in": round(delay, 3)}
            await self._checkpoint(steps=rows, run_update={
                "status": "queued", "due_at": time.time() + delay, "lease_owner": None,
                "stalled_claims": 0})
            self.hub.wake()  # idle workers (any node) plan to claim the retry when it is due
            for failed in rows:
                self._emit_step(failed)
            return "queued"
        error = {**(att.error or {}), "step_id": sid}
        if self.cz.on_failure:  # the failure is recorded first, then what it triggers
            await self._checkpoint(steps=rows)
            for failed in rows:
                self._emit_step(failed)
            await flow.on_failure(self, error)
            return await self._finish("failed", None, error=error)
        return await self._finish("failed", None, error=error, steps=rows)

    async def _finish(self, status: str, result: Any, *, error: dict[str, Any] | None = None,
                      steps: list[dict[str, Any]] | None = None, **extra: Any) -> str:
        try:
            blob = self._encode(result)
        except Exception as exc:  # noqa: BLE001 - e.g. nested deeper than the encoder allows
            status, blob = "failed", None
            error = {"code": OUTPUT_UNSTORABLE,
                     "message": f"the run's result cannot be stored: {describe(exc)}"}
        now = time.time()
        if self.audited:
            self.audit.append(auditing.run_finished(self.run, status, error))
        await self._checkpoint(steps=steps, run_update={
            "status": status, "finished_at": now, "lease_owner": None, "due_at": now,
            "result": blob, "error": error, "stalled_claims": 0},
            wake=self.run.parent_run_id, **extra)
        if self.run.parent_run_id:
            self.hub.wake()
        for row in steps or []:
            self._emit_step(row)
        # only a sync webhook's request waits for a run: tell other nodes of no other end
        trigger = self.cz.zap.trigger
        waited = trigger.kind == "webhook" and (trigger.config or {}).get("response") == "sync"
        emit_finished(self.hub, self.run, status, error, broadcast=waited)
        return status

    def _emit_step(self, row: dict[str, Any]) -> None:
        self.hub.emit({"type": "step.finished", "workspace_id": self.run.workspace_id,
                       "run_id": self.run.id, "zap_id": self.run.zap_id,
                       "step_id": row["step_id"], "status": row["status"],
                       "duration_ms": round((row["finished_at"] - row["started_at"]) * 1000, 3),
                       "error_code": (row["error"] or {}).get("code")})
