"""The run engine end to end on both backends: steps, checkpoints, retries, cancel, re-run."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import Conflict
from hub.plugins import create_plugin_manager
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from plugins import engine_fixtures as fx

FINAL = runs_svc.FINAL


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the engine test plugin (overrides conftest's ``hub``)."""
    fx.reset()
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(fx, name="enginefixtures")
    h = await Hub.open(settings, pm=pm)
    try:
        yield h
    finally:
        await h.close()
        fx.reset()


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


def doc(steps: list[dict[str, Any]], name: str = "z", **extra: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"kind": "manual"}, "steps": steps, **extra}


def echo(sid: str, label: str | None = None, **inp: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"id": sid, "use": "eng.echo", "input": {"label": label or sid, **inp}}
    for key in ("retry", "timeout", "when"):
        if key in inp:
            step[key] = step["input"].pop(key)
    return step


async def start(hub: Hub, ws: str, steps: list[dict[str, Any]], data: Any = None,
                **extra: Any) -> str:
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=doc(steps, **extra))
    run = await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data=data or {})
    return run["id"]


async def finish(hub: Hub, ws: str, run_id: str, worker: Worker | None = None,
                 timeout: float = 15.0) -> dict[str, Any]:
    """Drive a worker until the run is final (retries requeue it with a future due time)."""
    worker = worker or Worker(hub, poll_interval=0.01)
    deadline = time.monotonic() + timeout
    while True:
        await worker.run_until_idle(timeout)
        run = await runs_svc.get_run(hub, workspace_id=ws, run_id=run_id)
        if run["status"] in FINAL:
            return run
        assert time.monotonic() < deadline, f"run still {run['status']}"
        await asyncio.sleep(0.005)


async def until(predicate: Any, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


def calls(run_id: str) -> list[tuple[str, int]]:
    return [(c["step_id"], c["attempt"]) for c in fx.CALLS if c["run_id"] == run_id]


# --- happy path and control flow ------------------------------------------------------------


async def test_three_steps_are_checkpointed(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [
        echo("a", value="{{ trigger.name }}"),
        {"id": "b", "use": "core.transform", "input": {"greeting": "hi {{ steps.a.value }}"}},
        echo("c", value="{{ steps.b.greeting }}"),
    ], data={"name": "ada"})
    before = time.time()
    run = await finish(hub, ws, rid)
    assert run["status"] == "succeeded" and run["error"] is None
    assert run["result"] == {"label": "c", "value": "hi ada", "attempt": 1, "key": f"{rid}:c"}
    assert run["trigger"] == {"name": "ada"} and run["round"] == 0
    assert before <= run["started_at"] <= run["finished_at"]
    steps = run["steps"]
    assert [(s["step_id"], s["index"], s["status"], s["attempt"], s["round"]) for s in steps] == [
        ("a", 0, "succeeded", 1, 0), ("b", 1, "succeeded", 1, 0), ("c", 2, "succeeded", 1, 0)]
    assert steps[0]["input"] == {"label": "a", "value": "ada"}
    assert steps[1]["input"] == {"greeting": "hi ada"} == steps[1]["output"]
    assert steps[2]["output"]["value"] == "hi ada"
    for s in steps:
        assert s["idempotency_key"] == f"{rid}:{s['step_id']}"
        assert s["error"] is None and s["started_at"] <= s["finished_at"]
        assert s["duration_ms"] >= 0
    assert [c["key"] for c in fx.CALLS] == [f"{rid}:a", f"{rid}:c"]  # keys reach the action


async def test_zap_output_template(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", value=2)], output={"twice": "{{ steps.a.value }}"})
    run = await finish(hub, ws, rid)
    assert run["result"] == {"twice": 2}


async def test_filter_stops_the_run(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [
        echo("a"),
        {"id": "gate", "use": "core.filter", "input": {"condition": "{{ trigger.go }}"}},
        echo("c"),
    ], data={"go": False})
    run = await finish(hub, ws, rid)
    assert run["status"] == "filtered" and run["error"] is None
    assert [(s["step_id"], s["status"]) for s in run["steps"]] == [
        ("a", "succeeded"), ("gate", "filtered")]
    assert run["steps"][1]["output"] == {"passed": False}
    assert calls(rid) == [("a", 1)]


async def test_filter_passes(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [
        {"id": "gate", "use": "core.filter", "input": {"condition": "{{ trigger.go }}"}},
        echo("c"),
    ], data={"go": True})
    run = await finish(hub, ws, rid)
    assert run["status"] == "succeeded" and calls(rid) == [("c", 1)]


async def test_when_false_skips_the_step(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [
        echo("a", when="trigger.flag"),
        echo("b", value="{{ steps.a }}"),
    ], data={"flag": False})
    run = await finish(hub, ws, rid)
    assert run["status"] == "succeeded"
    assert [(s["step_id"], s["status"]) for s in run["steps"]] == [
        ("a", "skipped"), ("b", "succeeded")]
    assert run["steps"][0]["input"] is None and run["steps"][0]["output"] is None
    assert run["result"]["value"] is None  # a skipped step's output is null
    assert calls(rid) == [("b", 1)]


# --- failures and retries -------------------------------------------------------------------

RETRY = {"attempts": 3, "backoff": 0.01, "jitter": False}


async def test_retries_with_backoff_then_success(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a"), echo("b", fail_until=2, retry=RETRY)])
    run = await finish(hub, ws, rid)
    assert run["status"] == "succeeded"
    rows = [(s["step_id"], s["status"], s["attempt"]) for s in run["steps"]]
    assert rows == [("a", "succeeded", 1), ("b", "failed", 1), ("b", "failed", 2),
                    ("b", "succeeded", 3)]
    failed = run["steps"][1:3]
    assert [f["error"]["code"] for f in failed] == ["flaky", "flaky"]
    assert [f["error"]["retry_in"] for f in failed] == [0.01, 0.02]  # exponential, no jitter
    assert failed[1]["started_at"] >= failed[0]["finished_at"] + 0.01  # waited the backoff
    assert calls(rid) == [("a", 1), ("b", 1), ("b", 2), ("b", 3)]
    assert run["result"]["attempt"] == 3


async def test_retries_exhausted_fail_the_run(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a"), echo("b", fail_until=9, retry=RETRY), echo("c")])
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed"
    assert run["error"]["code"] == "flaky" and run["error"]["step_id"] == "b"
    assert [(s["step_id"], s["status"]) for s in run["steps"]] == [
        ("a", "succeeded"), ("b", "failed"), ("b", "failed"), ("b", "failed")]
    assert "retry_in" not in run["steps"][-1]["error"]
    assert ("c", 1) not in calls(rid)


async def test_non_retryable_error_is_not_retried(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", fatal=True, retry=RETRY)])
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed"
    assert run["error"] == {"code": "fatal_thing", "message": "this cannot work", "step_id": "a"}
    assert calls(rid) == [("a", 1)]


async def test_step_timeout(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", sleep=5, timeout=0.2)])
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed"
    assert run["error"]["code"] == "step_timeout" and run["error"]["step_id"] == "a"
    step = run["steps"][0]
    assert 0.2 <= step["finished_at"] - step["started_at"] < 2


async def test_invalid_input(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", number="{{ trigger.n }}", retry=RETRY)],
                      data={"n": "many"})
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed"
    assert run["error"]["code"] == "invalid_input" and "number" in run["error"]["message"]
    assert len(run["steps"]) == 1 and run["steps"][0]["input"]["number"] == "many"
    assert calls(rid) == []


async def test_expression_error_at_runtime(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", value="{{ length(trigger.n) }}")], data={"n": 5})
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed"
    assert run["error"]["code"] == "expression_error" and run["error"]["step_id"] == "a"
    assert calls(rid) == []


async def test_expression_error_in_when(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", when="length(trigger.n) > `1`")], data={"n": 5})
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed" and run["error"]["code"] == "expression_error"


# --- cancel ---------------------------------------------------------------------------------


async def test_cancel_a_queued_run(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a")])
    assert (await runs_svc.cancel_run(hub, workspace_id=ws, run_id=rid))["status"] == "cancelled"
    run = await finish(hub, ws, rid)
    assert run["status"] == "cancelled" and run["finished_at"] and run["steps"] == []
    assert calls(rid) == []
    with pytest.raises(Conflict):
        await runs_svc.cancel_run(hub, workspace_id=ws, run_id=rid)


@pytest.mark.parametrize("local", [True, False], ids=["in-process", "via-heartbeat"])
async def test_cancel_a_running_run(hub: Hub, ws: str, local: bool) -> None:
    rid = await start(hub, ws, [echo("a"), echo("b", sleep=30), echo("c")])
    worker = Worker(hub, poll_interval=0.01, lease_seconds=0.3)
    if local:
        hub.worker = worker
    worker.start()
    try:
        await until(lambda: ("b", 1) in calls(rid))
        out = await runs_svc.cancel_run(hub, workspace_id=ws, run_id=rid)
        assert out["status"] == "cancelling"
        run = await runs_svc.wait_for_run(hub, workspace_id=ws, run_id=rid, timeout=10)
    finally:
        hub.worker = None
        await worker.stop()
    assert run["status"] == "cancelled"
    assert [(s["step_id"], s["status"]) for s in run["steps"]] == [("a", "succeeded")]
    assert calls(rid) == [("a", 1), ("b", 1)]


# --- re-run, versions, idempotency ----------------------------------------------------------


async def test_rerun_resumes_from_the_failed_step(hub: Hub, ws: str) -> None:
    fx.FAILING.add("B")
    rid = await start(hub, ws, [echo("a"), echo("b", "B"), echo("c")])
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed" and run["error"]["code"] == "down"
    fx.FAILING.clear()
    assert (await runs_svc.rerun(hub, workspace_id=ws, run_id=rid))["status"] == "queued"
    run = await finish(hub, ws, rid)
    assert run["status"] == "succeeded" and run["round"] == 1 and run["error"] is None
    assert [(s["step_id"], s["status"], s["attempt"], s["round"]) for s in run["steps"]] == [
        ("a", "succeeded", 1, 0), ("b", "failed", 1, 0), ("b", "succeeded", 2, 1),
        ("c", "succeeded", 1, 1)]
    assert calls(rid) == [("a", 1), ("b", 1), ("b", 2), ("c", 1)]  # a ran once
    with pytest.raises(Conflict):
        await runs_svc.rerun(hub, workspace_id=ws, run_id=rid)


async def test_rerun_gets_a_fresh_retry_budget(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", fail_until=2, retry={**RETRY, "attempts": 2})])
    assert (await finish(hub, ws, rid))["status"] == "failed"
    await runs_svc.rerun(hub, workspace_id=ws, run_id=rid)
    run = await finish(hub, ws, rid)
    assert run["status"] == "succeeded" and run["result"]["attempt"] == 3


async def test_runs_pin_their_zap_version(hub: Hub, ws: str) -> None:
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=doc([echo("a", "v1")]))
    run = await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data={})
    await zaps_svc.update_zap(hub, workspace_id=ws, zap_id=zap["id"],
                              document=doc([echo("a", "v2"), echo("b", "v2")]))
    newer = await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data={})
    old = await finish(hub, ws, run["id"])
    new = await finish(hub, ws, newer["id"])
    assert old["zap_version"] == 1 and old["result"]["label"] == "v1" and len(old["steps"]) == 1
    assert new["zap_version"] == 2 and new["result"]["label"] == "v2" and len(new["steps"]) == 2


async def test_idempotency_key_is_stable_across_retries(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a", fail_until=1, retry=RETRY)])
    await finish(hub, ws, rid)
    assert [c["key"] for c in fx.CALLS] == [f"{rid}:a", f"{rid}:a"]
    assert [c["attempt"] for c in fx.CALLS] == [1, 2]


# --- listing and metrics --------------------------------------------------------------------


async def test_list_runs_pagination_and_filters(hub: Hub, ws: str) -> None:
    one = await zaps_svc.create_zap(hub, workspace_id=ws, document=doc([echo("a")], "one"))
    two = await zaps_svc.create_zap(hub, workspace_id=ws, document=doc([echo("a")], "two"))
    ids = [(await runs_svc.start_run(hub, workspace_id=ws, zap_id=z["id"], data={"i": i}))["id"]
           for i, z in enumerate([one] * 5 + [two] * 2)]
    await runs_svc.cancel_run(hub, workspace_id=ws, run_id=ids[6])
    await finish(hub, ws, ids[0])  # runs every queued run
    seen, cursor, pages = [], None, 0
    while True:
        page = await runs_svc.list_runs(hub, workspace_id=ws, limit=3, cursor=cursor)
        seen += [r["id"] for r in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == 3 and seen == sorted(ids, reverse=True)
    assert "trigger" not in page["items"][0]
    by_zap = await runs_svc.list_runs(hub, workspace_id=ws, zap_id=two["id"])
    assert {r["id"] for r in by_zap["items"]} == set(ids[5:])
    done = await runs_svc.list_runs(hub, workspace_id=ws, status="succeeded")
    assert [r["status"] for r in done["items"]] == ["succeeded"] * 6
    cancelled = await runs_svc.list_runs(hub, workspace_id=ws, status="cancelled",
                                         zap_id=two["id"])
    assert [r["id"] for r in cancelled["items"]] == [ids[6]]
    assert (await runs_svc.list_runs(hub, workspace_id="ws_other"))["items"] == []
    with pytest.raises(Exception, match="unknown status"):
        await runs_svc.list_runs(hub, workspace_id=ws, status="bogus")


async def test_step_metrics(hub: Hub, ws: str) -> None:
    rid = await start(hub, ws, [echo("a"), echo("b", fatal=True)])
    await finish(hub, ws, rid)
    sample = hub.metrics.registry.get_sample_value
    labels = {"action": "eng.echo", "status": "succeeded"}
    assert sample("hub_step_duration_seconds_count", labels) == 1
    assert sample("hub_step_duration_seconds_count", {**labels, "status": "failed"}) == 1
    assert sample("hub_step_duration_seconds_sum", labels) >= 0
    assert sample("hub_runs_finished_total", {"status": "failed"}) == 1
