# ruff: noqa: F811 - the hub and ws fixtures come from flow_support
"""A zap's ``on_failure`` steps run with the failed step's error in their context; the run
still ends failed, with the original error."""

from __future__ import annotations

import time

import pytest
from engine_support import until
from flow_support import echo, finish, hub, make_zap, rows, run_zap, ws  # noqa: F401

from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import ZapInvalid
from hub.services import runs as runs_svc
from hub.zaps import compile_zap
from plugins import engine_fixtures as fx

REPORT = echo("report", value={"step": "{{ error.step }}", "code": "{{ error.code }}",
                               "message": "{{ error.message }}", "seen": "{{ steps.ok.label }}"})


async def test_on_failure_steps_see_the_error_and_the_run_still_fails(hub: Hub, ws: str) -> None:
    flaky = echo("boom", fail_until=9)
    flaky["retry"] = {"attempts": 2, "backoff": 0, "jitter": False}
    zap = await make_zap(hub, ws, [echo("ok"), flaky, echo("never")],
                         on_failure=[REPORT, echo("second", value="{{ steps.report.value.code }}")])
    run = await run_zap(hub, ws, zap)
    assert run["status"] == "failed"
    assert run["error"] == {"code": "flaky", "message": "flaky on attempt 2", "step_id": "boom"}
    assert rows(run) == [("ok", "succeeded"), ("boom", "failed"), ("boom", "failed"),
                         ("report", "succeeded"), ("second", "succeeded")]
    assert run["steps"][3]["output"]["value"] == {
        "step": "boom", "code": "flaky", "message": "flaky on attempt 2", "seen": "ok"}
    assert run["steps"][4]["output"]["value"] == "flaky"
    assert [c["step_id"] for c in fx.CALLS] == ["ok", "boom", "boom", "report", "second"]


async def test_a_failing_on_failure_step_ends_the_list_and_keeps_the_first_error(
        hub: Hub, ws: str) -> None:
    zap = await make_zap(hub, ws, [echo("bad", fatal=True)],
                         on_failure=[echo("alert", fatal=True), echo("after_alert")])
    run = await run_zap(hub, ws, zap)
    assert run["status"] == "failed" and run["error"]["code"] == "fatal_thing"
    assert run["error"]["step_id"] == "bad"
    assert rows(run) == [("bad", "failed"), ("alert", "failed")]


async def test_a_succeeding_run_never_runs_on_failure(hub: Hub, ws: str) -> None:
    run = await run_zap(hub, ws, await make_zap(hub, ws, [echo("ok")], on_failure=[REPORT]))
    assert run["status"] == "succeeded" and rows(run) == [("ok", "succeeded")]


async def test_on_failure_after_a_failure_inside_a_loop(hub: Hub, ws: str) -> None:
    step = {"id": "each", "use": "core.loop", "input": {"items": [1, 2]},
            "steps": [echo("inner", fatal="{{ loop.item == `2` }}")]}
    run = await run_zap(hub, ws, await make_zap(hub, ws, [step], on_failure=[
        echo("report", value="{{ error.step }}")]))
    assert run["status"] == "failed" and run["error"]["step_id"] == "each:1:inner"
    assert run["steps"][-1]["output"]["value"] == "each:1:inner"


def test_error_is_only_known_in_on_failure(hub: Hub) -> None:
    doc = {"name": "z", "trigger": {"kind": "manual"},
           "steps": [echo("ok", value="{{ error.code }}")],
           "on_failure": [echo("ok2", value="{{ steps.ok.label }}"),
                          {"id": "pause", "use": "core.delay", "input": {"seconds": 1}}]}
    with pytest.raises(ZapInvalid) as err:
        compile_zap(doc, hub.registry)
    found = {e["path"]: e["message"] for e in err.value.extra["errors"]}
    assert "unknown name 'error'" in found["steps[0].input.value"]
    assert found["on_failure[1].use"] == "core.delay cannot be used inside on_failure"
    assert "on_failure[0].input.value" not in found


@pytest.mark.parametrize("ran", [0, 1], ids=["before-the-first", "after-the-first"])
async def test_a_worker_dying_during_on_failure_is_resumed_there(hub: Hub, ws: str,
                                                                 ran: int) -> None:
    zap = await make_zap(hub, ws, [echo("ok"), echo("bad", fatal=True)],
                         on_failure=[echo("first"), echo("second")])
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap, data={}))["id"]
    dying = Worker(hub, lease_seconds=0.2)
    [claimed] = await dying.claim(1)
    now = time.time()
    error = {"code": "fatal_thing", "message": "this cannot work"}
    done = [("ok", "succeeded", None), ("bad", "failed", error),
            ("first", "succeeded", None)][:2 + ran]
    await dying.cp.commit(claimed.id, claimed.claims, steps=[
        {"run_id": rid, "seq": i + 1, "workspace_id": ws, "step_id": sid, "step_index": i,
         "round": 0, "attempt": 1, "status": status, "input": None,
         "output": hub.payloads.encode(ws, {"label": sid}) if status == "succeeded" else None,
         "error": err, "started_at": now, "finished_at": now, "idempotency_key": f"{rid}:{sid}"}
        for i, (sid, status, err) in enumerate(done)])
    await dying.cp.close()  # ... and the worker dies
    await until(lambda: time.time() > now + 0.25)
    run = await finish(hub, ws, rid)
    assert run["status"] == "failed" and run["error"] == {**error, "step_id": "bad"}
    assert rows(run) == [("ok", "succeeded"), ("bad", "failed"), ("first", "succeeded"),
                         ("second", "succeeded")]
    assert [c["step_id"] for c in fx.CALLS] == ["first", "second"][ran:]  # not "bad" again
