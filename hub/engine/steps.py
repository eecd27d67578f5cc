"""Execute one step attempt: render the input, call the action with a timeout, shape the result."""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from hub.engine.failures import ENGINE_ERROR, OUTPUT_UNSTORABLE, describe
from hub.errors import StepError
from hub.expressions import ExpressionError
from hub.registry import Registry
from hub.sdk import StepContext, StepResult
from hub.zaps import CompiledStep, RetryPolicy


@dataclass
class Attempt:
    """What one step attempt produced."""

    input: Any = None
    output: Any = None
    stop: str | None = None
    skipped: bool = False  # its ``when`` condition was false
    error: dict[str, Any] | None = None
    retryable: bool = False
    started: float = field(default_factory=time.time)
    approved: bool = False  # ``input`` is the approved input: run it, do not render again
    original: tuple[str, Any] | None = None  # (redacted|blocked, input) to seal, not store


def backoff_delay(policy: RetryPolicy, failures: int) -> float:
    """Delay before the next attempt after ``failures`` failed ones (equal jitter)."""
    delay = min(policy.backoff * policy.factor ** max(failures - 1, 0), policy.max_backoff)
    if policy.jitter:
        delay = delay / 2 + random.uniform(0, delay / 2)
    return delay


def _error(code: str, message: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "message": message, **extra}


def _shape_output(cs: CompiledStep, out: Any) -> tuple[Any, str | None]:
    stop = None
    if isinstance(out, StepResult):
        out, stop = out.output, out.stop
    if isinstance(out, BaseModel):
        out = out.model_dump(mode="json")
    out = cs.action.Output.model_validate(out).model_dump(mode="json")
    return out, stop


async def _output(att: Attempt, cs: CompiledStep, raw: Any, guard: Any) -> None:
    try:
        att.output, att.stop = _shape_output(cs, raw)
    except ValidationError as exc:
        att.error = _error("invalid_output", f"action returned an invalid output: "
                           f"{exc.errors(include_url=False, include_input=False)[0]['msg']}")
        return
    except Exception as exc:  # noqa: BLE001 - e.g. nested deeper than pydantic serializes
        att.error = _error(OUTPUT_UNSTORABLE, f"the step's output cannot be stored: "
                           f"{describe(exc)}")
        return
    if guard is None:
        return
    try:  # the workspace's guardrails see the output before any later step does
        att.output = await guard.after(att.output)
    except StepError as exc:
        att.output, att.retryable = None, exc.retryable
        att.error = _error(exc.code, exc.message, **exc.extra)
    except Exception as exc:  # noqa: BLE001 - a broken guardrail fails the attempt
        att.output, att.retryable = None, True
        att.error = _error(ENGINE_ERROR, describe(exc))


async def _guarded(att: Attempt, payload: Any, guard: Any) -> Any:
    """The input after the guardrails; what they redacted or blocked is kept apart (sealed)
    and the stored input is the redacted one, or a marker when blocked."""
    try:
        checked = await guard.before(payload)
    except StepError as exc:
        if exc.code == "guardrail_blocked":
            att.original = ("blocked", {"input": att.input,
                                        "values": sorted(getattr(guard, "sensitive", ()))})
            att.input = {"withheld": "guardrail_blocked"}
        raise
    if checked is not payload:
        att.original = ("redacted", {"input": att.input,
                                     "values": sorted(getattr(guard, "sensitive", ()))})
        att.input = checked.model_dump(mode="json")
    return checked


async def run_attempt(cs: CompiledStep, registry: Registry, ctx: dict[str, Any],
                      step_ctx: StepContext, started: float | Attempt,
                      guard: Any = None) -> Attempt:
    """Render, validate and execute one attempt. Never raises except on cancellation.

    ``started`` may be an ``Attempt`` whose ``input`` was approved: it runs unrendered."""
    att = started if isinstance(started, Attempt) else Attempt(started=started)
    try:
        if not att.approved:
            att.input = cs.input.render(ctx)
    except ExpressionError as exc:
        att.error = _error(exc.code, str(exc))
        return att
    except Exception as exc:  # noqa: BLE001 - any evaluation failure fails the step
        att.error = _error("expression_error", describe(exc))
        return att
    try:
        payload = cs.action.Input.model_validate(att.input)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        att.error = _error("invalid_input", f"{where}: {first['msg']}")
        return att
    except Exception as exc:  # noqa: BLE001 - e.g. nested deeper than the validator allows
        att.error = _error("invalid_input", describe(exc))
        return att
    action = registry.action_instance(cs.step.use)
    try:
        async with asyncio.timeout(cs.timeout):
            if guard is not None:  # governance (hub.ai.governance): guardrails on the input
                payload = await _guarded(att, payload, guard)
            raw = await action.run(payload, step_ctx)
    except TimeoutError:
        att.error = _error("step_timeout", f"step did not finish within {cs.timeout:g}s")
        att.retryable = True
        return att
    except StepError as exc:
        att.error = _error(exc.code, exc.message, **exc.extra)
        att.retryable = exc.retryable
        return att
    except Exception as exc:  # noqa: BLE001 - any action failure is recorded on the step
        att.error = _error("action_error", f"{type(exc).__name__}: {exc}")
        att.retryable = True
        return att
    await _output(att, cs, raw, guard)
    return att
