"""Flow steps of the ``core`` connector: ``paths``, ``loop``, ``delay`` and ``call_zap``.

The engine runs the steps a path or a loop holds (they are checkpoints of their own); these
actions decide what runs: which branches, over which items, until when, which zap.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub import Action, StepContext, StepError, StepResult

MAX_LOOP_ITEMS = 10_000
MAX_DELAY = 366 * 86400.0


class PathsInput(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"x-holds": "branches"})

    mode: Literal["first", "all"] = Field(
        "first", title="Mode", description="Run the first branch whose condition holds, or all.")
    matched: list[str] = Field(
        default_factory=list, title="Matched branches", max_length=20,
        description="Set by the hub: the branches whose condition held, in order.",
        json_schema_extra={"readOnly": True})


class PathsOutput(BaseModel):
    branch: str | None = Field(description="The first branch that ran (none: no match).")
    branches: list[str] = Field(description="Every branch that ran, in order.")
    outputs: dict[str, Any] = Field(description="Each branch's last step output, by name.")


class Paths(Action):
    """Route the run: the branches a ``core.paths`` step runs, by mode."""

    key = "paths"
    title = "Paths"
    description = ("Named branches, each with a condition and its own steps; the first branch "
                   "whose condition holds runs (mode `all`: every one that holds).")
    Input = PathsInput
    Output = PathsOutput

    async def run(self, payload: PathsInput, ctx: StepContext) -> list[str]:
        return payload.matched[:1] if payload.mode == "first" else list(payload.matched)


class LoopInput(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"x-holds": "steps"})

    items: Any = Field(title="Items", description="The list to loop over, e.g. "
                       "{{ trigger.rows }}", examples=["{{ trigger.rows }}"])
    concurrency: int = Field(1, ge=1, le=20, title="Concurrency",
                             description="Items processed at once.")
    max_items: int = Field(1000, ge=1, le=MAX_LOOP_ITEMS, title="Maximum items",
                           description="More items than this fail the step.")


class LoopOutput(BaseModel):
    count: int = Field(description="Number of items.")
    results: list[Any] = Field(description="Each item's last step output, in item order.")


class Loop(Action):
    """Check a ``core.loop`` step's items: a list, within its bound."""

    key = "loop"
    title = "Loop over items"
    description = "Runs its steps once per item of a list; outputs are collected in order."
    Input = LoopInput
    Output = LoopOutput

    async def run(self, payload: LoopInput, ctx: StepContext) -> list[Any]:
        items = payload.items
        if not isinstance(items, list):
            raise StepError(f"items must be a list, not {_kind(items)}", code="loop_not_a_list",
                            retryable=False)
        if len(items) > payload.max_items:
            raise StepError(f"{len(items)} items; this loop takes at most {payload.max_items}",
                            code="loop_too_many_items", retryable=False)
        return items


def _kind(value: Any) -> str:
    names = {dict: "an object", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


class DelayInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seconds: float | None = Field(None, ge=0, le=MAX_DELAY, title="Seconds",
                                  description="Wait this long.", examples=[3600])
    until: datetime | None = Field(None, title="Until", description="Or wait until this time "
                                   "(ISO 8601; UTC unless it names a zone).",
                                   examples=["2026-12-01T09:00:00Z"])

    @model_validator(mode="after")
    def _one(self) -> DelayInput:
        if (self.seconds is None) == (self.until is None):
            raise ValueError("give exactly one of seconds and until")
        return self


class DelayOutput(BaseModel):
    until: float = Field(description="When the wait ends (UNIX seconds).")
    until_iso: str = Field(description="When the wait ends (ISO 8601, UTC).")


class Delay(Action):
    """Suspend the run for a duration or until a time; no worker is held meanwhile."""

    key = "delay"
    title = "Delay"
    description = ("Waits for a duration or until a time; the run is `waiting` and resumes "
                   "then, also after a restart. The hub bounds the wait (HUB_MAX_DELAY_SECONDS).")
    Input = DelayInput
    Output = DelayOutput

    async def run(self, payload: DelayInput, ctx: StepContext) -> StepResult:
        if payload.seconds is not None:
            until = time.time() + payload.seconds
        else:
            assert payload.until is not None
            moment = payload.until
            until = (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()
        iso = datetime.fromtimestamp(until, UTC).isoformat().replace("+00:00", "Z")
        return StepResult({"until": until, "until_iso": iso}, wait_until=until)


class CallZapInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zap: str = Field(min_length=1, max_length=200, title="Zap",
                     description="The id or name of a zap of this workspace.")
    input: dict[str, Any] = Field(default_factory=dict, title="Input",
                                  description="The called run's `trigger` data.")
    wait: bool = Field(True, title="Wait for the result",
                       description="Wait until the called run ends (the run waits without "
                       "holding a worker), or go on at once.")


class CallZapOutput(BaseModel):
    run_id: str = Field(description="The called run.")
    status: str = Field(description="`queued` when not waiting, else how the run ended.")
    result: Any = Field(None, description="The called run's result.")


class CallZap(Action):
    """Start a run of another zap of the workspace; optionally wait for its result."""

    key = "call_zap"
    title = "Call a zap"
    description = ("Starts another zap of this workspace with an input and (by default) waits "
                   "for its result; the called run records this run as its parent.")
    Input = CallZapInput
    Output = CallZapOutput

    async def run(self, payload: CallZapInput, ctx: StepContext) -> StepResult:
        if ctx.zaps is None:
            raise StepError("zaps cannot be called here", code="call_zap_unavailable",
                            retryable=False)
        run_id = await ctx.zaps.start(zap=payload.zap, data=payload.input,
                                      key=ctx.idempotency_key)
        output = {"run_id": run_id, "status": "queued", "result": None}
        return StepResult(output, wait_for_run=run_id if payload.wait else None)


FLOW_ACTIONS = (Paths, Loop, Delay, CallZap)
