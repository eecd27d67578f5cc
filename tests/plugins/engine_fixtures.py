"""Test plugin for the engine tests: the ``eng.echo`` action records every execution.

Module-level state is deliberate here (tests reset it): it lets a test count how often a step
really ran, make a step fail on demand, or hold a step until the test releases it.
"""

from __future__ import annotations

import asyncio
import os
import signal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub import Action, Connector, StepContext, StepError, hookimpl

#: Every execution: run_id, step_id, attempt, idempotency key and label.
CALLS: list[dict[str, Any]] = []
#: Labels whose steps fail (non-retryable ``down``) while they are in this set.
FAILING: set[str] = set()
#: Steps with ``gate: true`` wait for this event (a test creates it in its own loop).
GATE: asyncio.Event | None = None
#: In a child process, the step id named here blocks forever after its side effect.
BLOCK_ENV = "ENGINE_FIXTURES_BLOCK"
#: In a child process, the whole process stops (SIGSTOP) right after the checkpoint of the
#: step id named here is committed, i.e. before the next step starts.
FREEZE_ENV = "ENGINE_FIXTURES_FREEZE"


def reset() -> None:
    global GATE
    CALLS.clear()
    FAILING.clear()
    GATE = None


class EchoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(title="Label", description="Recorded with each execution.")
    value: Any = Field(None, title="Value", description="Returned as is.")
    number: int | None = Field(None, title="Number", description="Must render to an integer.")
    fail_until: int = Field(0, title="Fail until", description="Fail while attempt <= this.")
    fatal: bool = Field(False, title="Fatal", description="Fail with a non-retryable error.")
    sleep: float = Field(0.0, title="Sleep", description="Seconds to sleep first.")
    gate: bool = Field(False, title="Gate", description="Wait for the test's GATE event.")
    log: str | None = Field(None, title="Log", description="Append a line to this file.")
    unstorable_error: bool = Field(False, title="Unstorable error",
                                   description="Fail with an error the database cannot store.")


class EchoOutput(BaseModel):
    label: str
    value: Any = None
    attempt: int
    key: str


class Echo(Action):
    key = "echo"
    title = "Echo (engine tests)"
    Input = EchoInput
    Output = EchoOutput

    async def run(self, payload: EchoInput, ctx: StepContext) -> EchoOutput:
        CALLS.append({"run_id": ctx.run_id, "step_id": ctx.step_id, "attempt": ctx.attempt,
                      "key": ctx.idempotency_key, "label": payload.label})
        if payload.log:
            _side_effect(payload.log, ctx)
            if os.environ.get(BLOCK_ENV) == ctx.step_id:
                await asyncio.sleep(3600)
        if payload.sleep:
            await asyncio.sleep(payload.sleep)
        if payload.gate and GATE is not None:
            await GATE.wait()
        if payload.fatal:
            raise StepError("this cannot work", code="fatal_thing", retryable=False)
        if payload.unstorable_error:  # not JSON: the step's row cannot be written
            raise StepError("odd", code="odd", retryable=False, extra={"thing": object()})
        if ctx.attempt <= payload.fail_until:
            raise StepError(f"flaky on attempt {ctx.attempt}", code="flaky")
        if payload.label in FAILING:
            raise StepError("the service is down", code="down", retryable=False)
        return EchoOutput(label=payload.label, value=payload.value, attempt=ctx.attempt,
                          key=ctx.idempotency_key)


def _side_effect(path: str, ctx: StepContext) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(f"{ctx.run_id} {ctx.step_id} {ctx.attempt} {os.getpid()}\n")
        fh.flush()
        os.fsync(fh.fileno())


class Eng(Connector):
    key = "eng"
    title = "Engine test connector"
    actions = (Echo,)


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(Eng)


@hookimpl
def track_event(hub, event) -> None:  # type: ignore[no-untyped-def]
    if event["type"] == "step.finished" and event["step_id"] == os.environ.get(FREEZE_ENV):
        os.environ.pop(FREEZE_ENV)  # once
        os.kill(os.getpid(), signal.SIGSTOP)
