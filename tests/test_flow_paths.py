# ruff: noqa: F811 - the hub and ws fixtures come from flow_support
"""``core.paths``: named branches, first match or all, later steps read the branch, bad
conditions fail with a stable code, and validation follows references into branches."""

from __future__ import annotations

from typing import Any

import pytest
from flow_support import echo, hub, make_zap, rows, run_zap, ws  # noqa: F401 - fixtures

from hub.context import Hub
from hub.errors import ZapInvalid
from hub.zaps import compile_zap
from plugins import engine_fixtures as fx


def paths(mode: str = "first", *, bad: bool = False) -> dict[str, Any]:
    big = "trigger.amount > `100`" if not bad else "trigger.amount > 'x' && abs(trigger.name)"
    return {"id": "route", "use": "core.paths", "input": {"mode": mode}, "branches": [
        {"name": "big", "when": big, "steps": [echo("big_a", value="{{ trigger.amount }}"),
                                               echo("big_b")]},
        {"name": "even", "when": "{{ trigger.even }}", "steps": [echo("even_a")]},
        {"name": "other", "steps": [echo("other_a")]}]}


async def test_first_matching_branch_runs_and_later_steps_read_it(hub: Hub, ws: str) -> None:
    after = echo("after", value={"branch": "{{ steps.route.branch }}",
                                 "big": "{{ steps.big_a.value }}"})
    zap = await make_zap(hub, ws, [echo("first"), paths(), after])
    run = await run_zap(hub, ws, zap, {"amount": 500, "even": True})
    assert run["status"] == "succeeded", run
    assert rows(run) == [("first", "succeeded"), ("big_a", "succeeded"), ("big_b", "succeeded"),
                         ("route", "succeeded"), ("after", "succeeded")]
    route = run["steps"][3]["output"]
    assert route["branch"] == "big" and route["branches"] == ["big"]
    assert route["outputs"]["big"]["label"] == "big_b"
    assert run["result"]["value"] == {"branch": "big", "big": 500}
    keys = {s["step_id"]: s["idempotency_key"] for s in run["steps"]}
    assert keys["big_a"] == f"{run['id']}:big_a"

    small = await run_zap(hub, ws, zap, {"amount": 5})
    assert [s for s, _ in rows(small)] == ["first", "other_a", "route", "after"]
    assert small["result"]["value"] == {"branch": "other", "big": None}


async def test_mode_all_runs_every_matching_branch_in_order(hub: Hub, ws: str) -> None:
    zap = await make_zap(hub, ws, [paths("all")])
    run = await run_zap(hub, ws, zap, {"amount": 500, "even": True})
    assert [s for s, _ in rows(run)] == ["big_a", "big_b", "even_a", "other_a", "route"]
    assert run["result"]["branches"] == ["big", "even", "other"]


async def test_no_branch_matches(hub: Hub, ws: str) -> None:
    step = {"id": "route", "use": "core.paths", "branches": [
        {"name": "never", "when": "`false`", "steps": [echo("x")]}]}
    run = await run_zap(hub, ws, await make_zap(hub, ws, [step]))
    assert run["status"] == "succeeded" and rows(run) == [("route", "succeeded")]
    assert run["result"] == {"branch": None, "branches": [], "outputs": {}}


async def test_a_condition_that_errors_fails_the_step_with_a_stable_code(
        hub: Hub, ws: str) -> None:
    run = await run_zap(hub, ws, await make_zap(hub, ws, [paths(bad=True)]),
                        {"amount": 5, "name": "n"})
    assert run["status"] == "failed"
    assert run["error"]["code"] == "branch_condition_error"
    assert run["error"]["step_id"] == "route" and "branch 'big'" in run["error"]["message"]
    assert fx.CALLS == []  # nothing in any branch ran


async def test_a_filter_ends_its_branch_not_the_run(hub: Hub, ws: str) -> None:
    step = {"id": "route", "use": "core.paths", "input": {"mode": "all"}, "branches": [
        {"name": "a", "steps": [{"id": "stop", "use": "core.filter",
                                 "input": {"condition": "{{ `false` }}"}}, echo("never")]},
        {"name": "b", "steps": [echo("b1")]}]}
    run = await run_zap(hub, ws, await make_zap(hub, ws, [step, echo("end")]))
    assert run["status"] == "succeeded"
    assert rows(run) == [("stop", "filtered"), ("b1", "succeeded"), ("route", "succeeded"),
                         ("end", "succeeded")]


async def test_a_failing_branch_step_retries_and_resumes_inside_the_branch(
        hub: Hub, ws: str) -> None:
    flaky = echo("b2", fail_until=1)
    flaky["retry"] = {"attempts": 2, "backoff": 0, "jitter": False}
    step = {"id": "route", "use": "core.paths", "branches": [
        {"name": "a", "steps": [echo("b1"), flaky]}]}
    run = await run_zap(hub, ws, await make_zap(hub, ws, [step]))
    assert run["status"] == "succeeded"
    assert rows(run) == [("b1", "succeeded"), ("b2", "failed"), ("b2", "succeeded"),
                         ("route", "succeeded")]
    assert [c["step_id"] for c in fx.CALLS] == ["b1", "b2", "b2"]  # b1 ran once


def _problems(registry: Any, steps: list[dict[str, Any]], **extra: Any) -> dict[str, str]:
    doc = {"name": "z", "trigger": {"kind": "manual"}, "steps": steps, **extra}
    with pytest.raises(ZapInvalid) as err:
        compile_zap(doc, registry)
    return {e["path"]: e["message"] for e in err.value.extra["errors"]}


def test_validation_follows_references_into_branches(hub: Hub) -> None:
    step = {"id": "route", "use": "core.paths", "branches": [
        {"name": "a", "when": "steps.later.value", "steps": [
            echo("a1", value="{{ steps.a2.value }}"), echo("a2", value="{{ steps.a1.value }}"),
            echo("a3", value="{{ steps.nope }}")]},
        {"name": "a", "steps": [echo("first")]}]}
    found = _problems(hub.registry, [echo("first"), step, echo("later")])
    base = "steps[1].branches"
    assert found[f"{base}[0].when"] == "unknown step 'later' (it runs after this point)"
    assert "unknown step 'a2'" in found[f"{base}[0].steps[0].input.value"]
    assert found[f"{base}[0].steps[2].input.value"] == "unknown step 'nope'"
    assert found[f"{base}[1].name"] == "duplicate branch name 'a'"
    assert found[f"{base}[1].steps[0].id"] == "duplicate step id 'first'"
    assert f"{base}[0].steps[1].input.value" not in found  # a1 ran before a2


def test_structure_rules(hub: Hub) -> None:
    nested = {"id": "inner", "use": "core.paths", "branches": [
        {"name": "x", "steps": [echo("deep")]}]}
    found = _problems(hub.registry, [
        {"id": "route", "use": "core.paths", "input": {"matched": ["a"]},
         "branches": [{"name": "a", "steps": [nested]}]},
        {"id": "bare", "use": "core.paths"},
        {"id": "odd", "use": "core.transform", "branches": [{"name": "b", "steps": [echo("y")]}]},
    ])
    assert found["steps[0].input.matched"] == "set by the hub from the branch conditions"
    assert found["steps[0].branches[0].steps[0].use"] == \
        "core.paths cannot be used inside a branch"
    assert found["steps[1].branches"] == "a core.paths step needs at least one branch"
    assert found["steps[2].branches"] == "only core.paths steps have branches"
