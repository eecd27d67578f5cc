"""Execute a claimed run from its last committed step to the end, checkpointing each step."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.ai.governance import governor_for
from hub.egress import step_http
from hub.engine.checkpoint import Checkpointer
from hub.engine.steps import Attempt, backoff_delay, run_attempt
from hub.errors import HubError
from hub.expressions import ExpressionError, evaluate_condition
from hub.oauth import step_oauth
from hub.sdk import StepContext
from hub.tables.access import step_tables
from hub.vault.engine import redact_attempt, step_credentials
from hub.zaps import CompiledStep, CompiledZap

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.engine")
DONE = ("succeeded", "skipped")


@dataclass
class Claimed:
    """A run this worker holds the lease on, with its committed step rows."""

    id: str
    workspace_id: str
    zap_id: str
    zap_version: int
    trigger_data: bytes
    round: int
    claims: int
    cancel_requested: bool = False
    prior: list[dict[str, Any]] = field(default_factory=list)


class RunExecution:
    def __init__(self, hub: Hub, cp: Checkpointer, run: Claimed, cz: CompiledZap) -> None:
        self.hub, self.cp, self.run, self.cz = hub, cp, run, cz
        self.ctx: dict[str, Any] = {"trigger": self._decode(run.trigger_data), "steps": {},
                                    "vars": cz.zap.vars}
        self.seq = max((r["seq"] for r in run.prior), default=0)
        self.done: set[str] = set()
        self.tries: dict[str, int] = {}  # attempts per step, all rounds
        self.round_tries: dict[str, int] = {}  # attempts per step, this round
        self.last_output: Any = None
        self.stopped = False
        self._load_prior()

    def _decode(self, blob: bytes | None) -> Any:
        return self.hub.payloads.decode(self.run.workspace_id, blob)

    def _encode(self, value: Any) -> bytes | None:
        return None if value is None else self.hub.payloads.encode(self.run.workspace_id, value)

    def _load_prior(self) -> None:
        for row in sorted(self.run.prior, key=lambda r: r["seq"]):
            sid = row["step_id"]
            self.tries[sid] = self.tries.get(sid, 0) + 1
            if row["round"] == self.run.round:
                self.round_tries[sid] = self.round_tries.get(sid, 0) + 1
            if row["status"] in DONE or row["status"] == "filtered":
                self.done.add(sid)
                self.ctx["steps"][sid] = self._decode(row["output"])
                if row["status"] != "skipped":  # as in a live run: a skip keeps the last output
                    self.last_output = self.ctx["steps"][sid]
                self.stopped = self.stopped or row["status"] == "filtered"

    def _row(self, cs: CompiledStep, index: int, status: str, att: Attempt) -> dict[str, Any]:
        self.seq += 1
        sid = cs.step.id
        self.tries[sid] = self.tries.get(sid, 0) + 1
        self.round_tries[sid] = self.round_tries.get(sid, 0) + 1
        return {"run_id": self.run.id, "seq": self.seq, "workspace_id": self.run.workspace_id,
                "step_id": sid, "step_index": index, "round": self.run.round,
                "attempt": self.tries[sid], "status": status,
                "input": self._encode(att.input),
                "output": self._encode(att.output),
                "error": att.error, "started_at": att.started, "finished_at": time.time(),
                "idempotency_key": f"{self.run.id}:{sid}"}

    async def execute(self) -> str:
        """Run the remaining steps; return the run's final (or requeued) status."""
        if self.stopped:
            return await self._finish("filtered", None)
        pending = [(i, cs) for i, cs in enumerate(self.cz.steps) if cs.step.id not in self.done]
        for n, (index, cs) in enumerate(pending):
            last = n == len(pending) - 1
            status = await self._step(index, cs, last)
            if status is not None:
                return status
        return await self._succeed()  # nothing left to run (e.g. resumed after the last step)

    async def _step(self, index: int, cs: CompiledStep, last: bool) -> str | None:
        started = time.time()
        if cs.when is not None:
            try:
                go = evaluate_condition(cs.when, self.ctx)
            except ExpressionError as exc:
                att = Attempt(error={"code": "expression_error", "message": str(exc)},
                              started=started)
                return await self._fail(index, cs, att)
            if not go:
                self.ctx["steps"][cs.step.id] = None
                return await self._commit(index, cs, "skipped", Attempt(started=started), last)
        sid = cs.step.id
        try:
            creds = await step_credentials(self.hub, self.run.workspace_id, cs)
        except HubError as exc:  # e.g. connection_not_found, needs_reauth: not retryable
            return await self._fail(index, cs, Attempt(
                error={"code": exc.code, "message": exc.message}, started=started))
        gov = await governor_for(  # the workspace's AI governance; a zap cannot turn it off
            self.hub, workspace_id=self.run.workspace_id, run_id=self.run.id,
            zap_id=self.run.zap_id, step_id=sid,
            action=self.hub.registry.action_instance(cs.step.use))
        step_ctx = StepContext(
            ai=gov.gateway if gov is not None else None,
            run_id=self.run.id, step_id=sid, attempt=self.tries.get(sid, 0) + 1,
            idempotency_key=f"{self.run.id}:{sid}", workspace_id=self.run.workspace_id,
            creds=creds, http=step_http(self.hub, cs),
            tables=step_tables(self.hub, self.run.workspace_id),
            oauth=step_oauth(self.hub, cs.step.use, cs.step.connection, self.run.workspace_id))
        att = await run_attempt(cs, self.hub.registry, self.ctx, step_ctx, started, gov)
        redact_attempt(att, creds)  # an API echoing a token must not store it
        self.hub.metrics.step_duration.labels(
            action=cs.step.use, status="failed" if att.error else "succeeded",
        ).observe(time.time() - started)
        if att.error:
            return await self._fail(index, cs, att)
        self.ctx["steps"][sid] = att.output
        self.last_output = att.output
        if att.stop:
            return await self._commit(index, cs, "filtered", att, True)
        return await self._commit(index, cs, "succeeded", att, last)

    async def _commit(self, index: int, cs: CompiledStep, status: str, att: Attempt,
                      last: bool) -> str | None:
        row = self._row(cs, index, status, att)
        if not last:
            await self.cp.commit(self.run.id, steps=[row])
            self._emit_step(row)
            return None
        if att.stop:
            return await self._finish(att.stop, None, steps=[row])
        return await self._succeed(steps=[row])

    async def _succeed(self, steps: list[dict[str, Any]] | None = None) -> str:
        try:
            result = self.last_output if self.cz.output is None else self.cz.output.render(self.ctx)
        except ExpressionError as exc:
            error = {"code": "expression_error", "message": f"output: {exc}"}
            return await self._finish("failed", None, error=error, steps=steps)
        return await self._finish("succeeded", result, steps=steps)

    async def _fail(self, index: int, cs: CompiledStep, att: Attempt) -> str:
        row = self._row(cs, index, "failed", att)
        sid = cs.step.id
        if att.retryable and self.round_tries.get(sid, 0) < cs.retry.attempts:
            delay = backoff_delay(cs.retry, self.round_tries[sid])
            wait = (att.error or {}).get("retry_after")  # a provider's Retry-After (issue 6)
            if isinstance(wait, int | float) and wait > 0:
                delay = max(delay, min(float(wait), cs.retry.max_backoff))
            row["error"] = {**(att.error or {}), "retry_in": round(delay, 3)}
            await self.cp.commit(self.run.id, steps=[row], run_update={
                "status": "queued", "due_at": time.time() + delay, "lease_owner": None})
            self._emit_step(row)
            return "queued"
        error = {**(att.error or {}), "step_id": sid}
        return await self._finish("failed", None, error=error, steps=[row])

    async def _finish(self, status: str, result: Any, *, error: dict[str, Any] | None = None,
                      steps: list[dict[str, Any]] | None = None) -> str:
        now = time.time()
        await self.cp.commit(self.run.id, steps=steps, run_update={
            "status": status, "finished_at": now, "lease_owner": None, "due_at": now,
            "result": self._encode(result), "error": error})
        for row in steps or []:
            self._emit_step(row)
        self.hub.metrics.runs_finished.labels(status=status).inc()
        self.hub.emit({"type": "run.finished", "workspace_id": self.run.workspace_id,
                       "run_id": self.run.id, "zap_id": self.run.zap_id, "status": status,
                       "error_code": (error or {}).get("code")})
        return status

    def _emit_step(self, row: dict[str, Any]) -> None:
        self.hub.emit({"type": "step.finished", "workspace_id": self.run.workspace_id,
                       "run_id": self.run.id, "zap_id": self.run.zap_id,
                       "step_id": row["step_id"], "status": row["status"],
                       "duration_ms": round((row["finished_at"] - row["started_at"]) * 1000, 3),
                       "error_code": (row["error"] or {}).get("code")})
