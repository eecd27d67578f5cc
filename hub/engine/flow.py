"""Flow steps in the engine: branches (``core.paths``), loops (``core.loop``), suspended
steps (``core.delay``, ``core.call_zap``) and a zap's ``on_failure`` steps.

Steps inside a branch or a loop are checkpoints of their own, run through the same attempt
machinery as top-level steps (credentials, governance, fencing, guardrails). A branch's step
is keyed by its id; a loop's step by ``<loop>:<index>:<step>``, so its idempotency key is
``<run>:<loop>:<index>:<step>`` and a resumed loop skips every committed iteration step.

A suspended step writes a ``waiting`` row (its output, and the wait in ``error.wait``) and
sets the run ``waiting`` with ``due_at`` when to look again; the worker lets go of it. When
the run is claimed again, the step completes once its time has come or the run it waits for
has ended. A child run's end makes its waiting parent due at once (same transaction).
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from hub.engine import calls
from hub.engine.failures import error_of
from hub.engine.steps import Attempt
from hub.errors import StepError
from hub.expressions import ExpressionError
from hub.zaps import CompiledStep

if TYPE_CHECKING:
    from hub.engine.executor import RunExecution
    from hub.settings import Settings

RECHECK = 300.0  # a run waiting for another run looks again at least this often (s)


def is_loop_key(key: str) -> bool:
    return ":" in key  # step ids never hold one


def wait_of(row: dict[str, Any], output: Any) -> dict[str, Any]:
    """A committed ``waiting`` row as the executor keeps it."""
    return {"wait": dict((row.get("error") or {}).get("wait") or {}), "output": output}


def check_wait(settings: Settings, att: Attempt) -> None:
    """Fail an attempt that asks to wait longer than the hub allows."""
    if att.wait is None or "until" not in att.wait:
        return
    if att.wait["until"] <= time.time():  # already past: nothing to wait for
        att.wait = None
    elif att.wait["until"] - time.time() > settings.max_delay_seconds:
        att.error = {"code": "delay_too_long", "message": f"the wait ends more than "
                     f"{settings.max_delay_seconds:g}s from now (HUB_MAX_DELAY_SECONDS)"}
        att.wait, att.output, att.retryable = None, None, False


async def suspend(ex: RunExecution, key: str, att: Attempt, row: dict[str, Any] | None) -> str:
    """Set the run ``waiting`` until the step's wait may have ended; ``row`` is written
    ``waiting`` unless this is a look that found the wait still running (no new row)."""
    if key in ex.waits:
        row = None
    wait, now = dict(att.wait or {}), time.time()
    if "run_id" in wait:
        wait.setdefault("deadline", now + ex.hub.settings.call_zap_timeout)
        due = min(wait["deadline"], now + RECHECK)
        message = f"waiting for run {wait['run_id']}"
    else:
        due = wait["until"]
        message = "waiting until " + time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(due))
    if row is not None:
        row.update(status="waiting", error={"code": "waiting", "message": message, "wait": wait})
        ex.waits[key] = {"wait": wait, "output": att.output}
    await ex._checkpoint(steps=[row] if row else None, run_update={
        "status": "waiting", "due_at": due, "lease_owner": None, "stalled_claims": 0})
    if row is not None:
        ex._emit_step(row)
    return "waiting"


async def resume_wait(ex: RunExecution, key: str, started: float) -> Attempt:
    """The attempt of a suspended step: done, failed, or still waiting (``wait`` set)."""
    held = ex.waits[key]
    wait, output = held["wait"], held["output"]
    if "until" in wait:
        if time.time() >= wait["until"]:
            return Attempt(output=output, started=started)
        return Attempt(output=output, wait=wait, started=started)
    ended = await calls.outcome(ex.hub.db, ex.hub.payloads, ex.run.workspace_id, wait["run_id"])
    if ended is None:
        if time.time() >= wait.get("deadline", 0):
            return Attempt(error={"code": "call_zap_timeout", "message": (
                f"run {wait['run_id']} did not end in time (HUB_CALL_ZAP_TIMEOUT)")},
                started=started)
        return Attempt(output=output, wait=wait, started=started)
    if ended.status in ("failed", "cancelled"):
        cause = ended.error or {}
        return Attempt(error={"code": "called_run_failed", "run_id": wait["run_id"], "message": (
            f"run {wait['run_id']} {ended.status}: {cause.get('code', '')} "
            f"{str(cause.get('message', ''))[:300]}".strip())}, started=started)
    return Attempt(output={**(output or {}), "status": ended.status, "result": ended.result},
                   started=started)


@dataclass
class Outcome:
    """What a nested step did: ``done``, ``stopped`` (a filter), ``ended`` the run
    (``status``), or ``failed`` with the attempt and row not yet recorded."""

    kind: str
    output: Any = None
    status: str | None = None
    failure: tuple[CompiledStep, Attempt, dict[str, Any], str] | None = None


async def nested_step(ex: RunExecution, cs: CompiledStep, index: int, key: str,
                      scope: dict[str, Any], *, may_end: bool) -> Outcome:
    """Run one step of a branch (``may_end``: a failure or wait ends the run's execution) or
    of a loop iteration (a failure is handed back; waiting is refused)."""
    if key in ex.done:
        output = ex.nested.get(key) if is_loop_key(key) else ex.ctx["steps"].get(key)
        return Outcome("stopped" if ex.status_of.get(key) == "filtered" else "done", output)
    started = time.time()
    att = await ex._guarded(ex._attempt(cs, started, key=key, scope=scope), cs, started)
    if att.wait is not None and not may_end:
        att.error, att.wait = {"code": "cannot_wait_here",
                               "message": "a step inside a loop cannot suspend the run"}, None
    row = ex._row(cs, index, att, key=key)
    if att.error:
        if may_end:
            return Outcome("ended", status=await ex._fail(cs, att, row, key=key))
        return Outcome("failed", failure=(cs, att, row, key))
    if att.wait is not None:
        return Outcome("ended", status=await suspend(ex, key, att, row))
    await ex._checkpoint(steps=[row])
    ex._emit_step(row)
    ex.done.add(key)
    ex.status_of[key] = row["status"]
    if is_loop_key(key):
        ex.nested[key] = att.output
    else:
        ex.ctx["steps"][key] = att.output
    return Outcome("stopped" if att.stop else "done", att.output)


async def plan(ex: RunExecution, cs: CompiledStep, started: float,
               extra: dict[str, Any]) -> tuple[Any, Any, Attempt | None]:
    """Render the step's input (plus ``extra``) and ask its action what to run:
    ``(input, plan, None)``, or a failed attempt."""
    try:
        rendered = {**cs.input.render(ex.ctx), **extra}
    except ExpressionError as exc:
        return None, None, Attempt(error={"code": exc.code, "message": str(exc)},
                                   started=started)
    except Exception as exc:  # noqa: BLE001 - any evaluation failure fails the step
        return None, None, Attempt(error=error_of(exc, code="expression_error"), started=started)
    try:
        payload = cs.action.Input.model_validate(rendered)
        step_ctx = ex.step_context(cs, None, None, cs.step.id)
        async with asyncio.timeout(cs.timeout):
            chosen = await ex.hub.registry.action_instance(cs.step.use).run(payload, step_ctx)
    except StepError as exc:
        return rendered, None, Attempt(input=rendered, error={"code": exc.code, "message": (
            exc.message)}, started=started)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        return rendered, None, Attempt(input=rendered, error={
            "code": "invalid_input", "message": f"{where}: {first['msg']}"}, started=started)
    return rendered, chosen, None


async def on_failure(ex: RunExecution, error: dict[str, Any]) -> None:
    """Run the zap's ``on_failure`` steps, ``error`` in their context, one attempt each; the
    first that fails or filters ends the list (the run ends failed either way)."""
    steps = dict(ex.ctx["steps"])
    info = {"step": error.get("step_id"), "code": error.get("code"),
            "message": error.get("message")}
    for index, cs in enumerate(ex.cz.on_failure):
        scope = {**ex.ctx, "steps": steps, "error": info}
        if cs.step.id in ex.done:
            steps[cs.step.id] = ex.ctx["steps"].get(cs.step.id)
            continue
        started = time.time()
        att = await ex._guarded(ex._attempt(cs, started, scope=scope), cs, started)
        if att.wait is not None:
            att.error, att.wait = {"code": "cannot_wait_here",
                                   "message": "an on_failure step cannot suspend the run"}, None
        row = ex._row(cs, len(ex.cz.steps) + index, att)
        await ex._checkpoint(steps=[row])
        ex._emit_step(row)
        if att.error or att.stop:
            return
        steps[cs.step.id] = att.output
