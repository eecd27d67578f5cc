"""``core.paths`` and ``core.loop`` in the engine: run the steps they hold (see ``flow``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from hub.engine.failures import describe
from hub.engine.flow import Outcome, nested_step, plan
from hub.engine.steps import Attempt
from hub.expressions import ExpressionError, evaluate_condition
from hub.zaps import CompiledStep
from hub.zaps.flow import LOOP, PATHS, loop_key

if TYPE_CHECKING:
    from hub.engine.executor import RunExecution

HOLDERS = (PATHS, LOOP)
MAX_LOOP_STEPS = 10_000  # step executions one loop may ask for: items x its steps
CONDITION_ERROR = "branch_condition_error"


async def run_holder(ex: RunExecution, cs: CompiledStep, index: int,
                     started: float) -> Attempt | str:
    """The attempt of a paths or loop step, or the run's status if a step inside ended it."""
    skip = ex.when(cs, ex.ctx, started)
    if skip is not None:
        return skip
    if cs.step.use == PATHS:
        return await run_paths(ex, cs, index, started)
    return await run_loop(ex, cs, index, started)


def _matched(ex: RunExecution, cs: CompiledStep, started: float) -> list[str] | Attempt:
    """The branches whose condition holds, in order; a failed attempt if one cannot be
    evaluated (``branch_condition_error``: the same data would fail again, so no retry)."""
    matched = []
    for branch in cs.branches:
        try:
            if branch.when is None or evaluate_condition(branch.when, ex.ctx):
                matched.append(branch.name)
        except ExpressionError as exc:
            return Attempt(error={"code": CONDITION_ERROR, "message": (
                f"branch '{branch.name}': {exc}")}, started=started)
        except Exception as exc:  # noqa: BLE001 - any evaluation failure fails the step
            return Attempt(error={"code": CONDITION_ERROR, "message": (
                f"branch '{branch.name}': {describe(exc)}")}, started=started)
    return matched


async def run_paths(ex: RunExecution, cs: CompiledStep, index: int,
                    started: float) -> Attempt | str:
    matched = _matched(ex, cs, started)
    if isinstance(matched, Attempt):
        return matched
    rendered, chosen, failed = await plan(ex, cs, started, {"matched": matched})
    if failed is not None:
        return failed
    by_name = {b.name: b for b in cs.branches}
    outputs: dict[str, Any] = {}
    for name in chosen:
        last = None
        for sub in by_name[name].steps:
            done = await nested_step(ex, sub, index, sub.step.id, ex.ctx, may_end=True)
            if done.kind == "ended":
                return str(done.status)
            last = done.output
            if done.kind == "stopped":  # a filter ends its branch, not the run
                break
        outputs[name] = last
    out = {"branch": chosen[0] if chosen else None, "branches": list(chosen), "outputs": outputs}
    return Attempt(input=rendered, output=cs.action.Output.model_validate(out).model_dump(
        mode="json"), started=started)


class _Iterations:
    """The iterations of one loop, run by up to ``concurrency`` tasks in item order."""

    def __init__(self, ex: RunExecution, cs: CompiledStep, index: int, items: list[Any]) -> None:
        self.ex, self.cs, self.index, self.items = ex, cs, index, items
        self.results: list[Any] = [None] * len(items)
        self.failures: list[tuple[int, Outcome]] = []
        self.next = iter(range(len(items)))

    async def worker(self) -> None:
        for i in self.next:  # shared: each task takes the next item
            if self.failures:
                return
            await self.iteration(i)

    async def iteration(self, i: int) -> None:
        ex, steps, last = self.ex, dict(self.ex.ctx["steps"]), None
        about = {"item": self.items[i], "index": i, "count": len(self.items)}
        for sub in self.cs.children:
            if self.failures:
                return
            scope = {**ex.ctx, "steps": steps, "loop": about}
            key = loop_key(self.cs.step.id, i, sub.step.id)
            done = await nested_step(ex, sub, self.index, key, scope, may_end=False)
            if done.kind == "failed":
                self.failures.append((i, done))
                return
            steps[sub.step.id] = last = done.output
            if done.kind == "stopped":  # a filter ends this item's iteration
                break
        self.results[i] = last


async def run_loop(ex: RunExecution, cs: CompiledStep, index: int,
                   started: float) -> Attempt | str:
    rendered, items, failed = await plan(ex, cs, started, {})
    if failed is not None:
        return failed
    if len(items) * len(cs.children) > MAX_LOOP_STEPS:
        return Attempt(input=rendered, error={"code": "loop_too_many_items", "message": (
            f"{len(items)} items x {len(cs.children)} steps: a loop runs at most "
            f"{MAX_LOOP_STEPS:,} steps")}, started=started)
    its = _Iterations(ex, cs, index, items)
    concurrency = min(int(rendered.get("concurrency") or 1), max(len(items), 1))
    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(its.worker())
    except BaseExceptionGroup as grouped:  # e.g. LeaseLost: the first one, as it is
        raise grouped.exceptions[0] from None
    if its.failures:
        return await _failed(ex, sorted(its.failures, key=lambda f: f[0]))
    out = {"count": len(items), "results": its.results}
    return Attempt(input=rendered, output=cs.action.Output.model_validate(out).model_dump(
        mode="json"), started=started)


async def _failed(ex: RunExecution, failures: list[tuple[int, Outcome]]) -> str:
    """Record every failed iteration step; the first (by item) decides retry or failure."""
    rows = [f.failure[2] for _, f in failures[1:] if f.failure]
    first = failures[0][1].failure
    assert first is not None
    cs, att, row, key = first
    return await ex._fail(cs, att, row, key=key, also=rows)
