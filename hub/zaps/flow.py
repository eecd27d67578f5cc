"""Structure rules for flow steps: which steps hold others, where flow steps may appear.

``core.paths`` holds named branches of steps, ``core.loop`` holds steps run once per item, a
zap's ``on_failure`` list runs when the run fails. Nested steps are action steps: paths and
loops do not nest, and a loop or ``on_failure`` never suspends the run (no ``core.delay``, no
waiting ``core.call_zap``). Step ids are unique across the whole zap, nested ones included.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from hub.zaps.model import Step

PATHS, LOOP, DELAY, CALL = "core.paths", "core.loop", "core.delay", "core.call_zap"
MAX_STEPS = 1000  # every step of a zap, nested ones included
MAX_INDEX = 99_999  # largest loop index a row key must hold (core.loop caps items lower)
KEY_LENGTH = 64  # run_steps.step_id
_PLACES = {"branch": "a branch", "loop": "a loop", "on_failure": "on_failure"}


def loop_key(loop_id: str, index: int, step_id: str) -> str:
    """The key of a loop sub-step's checkpoint in one iteration: ``<loop>:<index>:<step>``."""
    return f"{loop_id}:{index}:{step_id}"


def walk(steps: Iterable[Step]) -> Iterator[Step]:
    """Every step, nested ones included, in document order."""
    for step in steps:
        yield step
        for branch in step.branches or ():
            yield from walk(branch.steps)
        yield from walk(step.steps or ())


def branch_step_ids(step: Step) -> list[str]:
    """Ids of a ``core.paths`` step's branch steps (later steps may read them)."""
    return [s.id for b in step.branches or () for s in b.steps] if step.use == PATHS else []


def structure_problems(step: Step, where: str) -> Iterator[tuple[str, str]]:
    """``(path suffix, message)`` for each rule ``step`` breaks.

    ``where`` is ``top``, ``branch``, ``loop`` or ``on_failure``.
    """
    if step.branches is not None and step.use != PATHS:
        yield ".branches", f"only {PATHS} steps have branches"
    if step.steps is not None and step.use != LOOP:
        yield ".steps", f"only {LOOP} steps hold steps"
    if step.use == PATHS and not step.branches:
        yield ".branches", f"a {PATHS} step needs at least one branch"
    if step.use == LOOP and not step.steps:
        yield ".steps", f"a {LOOP} step needs the steps to run per item"
    inside = _PLACES.get(where, where)
    if where != "top" and step.use in (PATHS, LOOP):
        yield ".use", f"{step.use} cannot be used inside {inside}"
    if where in ("loop", "on_failure") and step.use == DELAY:
        yield ".use", f"{DELAY} cannot be used inside {inside}"
    if where in ("loop", "on_failure") and step.use == CALL and step.input.get("wait") is not False:
        yield ".input.wait", f"inside {inside}, {CALL} needs `wait: false`"
    if step.use == DELAY and ("seconds" in step.input) == ("until" in step.input):
        yield ".input", "give exactly one of seconds and until"
    if step.use == PATHS and "matched" in step.input:
        yield ".input.matched", "set by the hub from the branch conditions"
