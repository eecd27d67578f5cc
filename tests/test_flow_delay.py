# ruff: noqa: F811 - the hub and ws fixtures come from flow_support
"""``core.delay``: the run goes ``waiting`` with ``due_at``, holds no worker, resumes after a
restart of the hub, and the wait is bounded."""

from __future__ import annotations

import time
from typing import Any

import pytest
from engine_support import open_hub, run_row
from flow_support import echo, finish, hub, make_zap, rows, run_zap, ws  # noqa: F401

from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import ZapInvalid
from hub.services import runs as runs_svc
from hub.settings import Settings
from hub.store.tables import runs
from plugins import engine_fixtures as fx


def delay(sid: str = "pause", **inp: Any) -> dict[str, Any]:
    return {"id": sid, "use": "core.delay", "input": inp}


async def test_delay_waits_without_a_worker_and_survives_a_restart(
        hub: Hub, ws: str, settings: Settings) -> None:
    zap = await make_zap(hub, ws, [echo("before"), delay(seconds=1.5),
                                   echo("after", value="{{ steps.pause.until }}")])
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap, data={}))["id"]
    worker = hub.worker = Worker(hub, poll_interval=0.01)
    worker.start()
    started = time.time()
    run = await runs_svc.wait_for_run(hub, workspace_id=ws, run_id=rid, timeout=10)
    assert run["status"] == "waiting" and rows(run) == [("before", "succeeded"),
                                                        ("pause", "waiting")]
    row = await run_row(hub, rid)
    assert row.lease_owner is None and abs(row.due_at - (started + 1.5)) < 1.0
    assert worker.active == {}  # the waiting run holds no worker slot
    assert run["steps"][1]["error"]["code"] == "waiting"
    await hub.close()  # the hub goes down while the run waits

    again = await open_hub(settings)  # a new process, as far as the run can tell
    try:
        assert (await run_row(again, rid)).status == "waiting"
        again.worker = Worker(again, poll_interval=0.02)
        again.worker.start()
        deadline = time.monotonic() + 15
        while (await run_row(again, rid)).status == "waiting":
            assert time.monotonic() < deadline
            await again.wait_for_work(0.05)
        done = await runs_svc.wait_for_run(again, workspace_id=ws, run_id=rid, timeout=10)
    finally:
        await again.close()
    assert done["status"] == "succeeded", done
    assert time.time() >= started + 1.5
    assert rows(done) == [("before", "succeeded"), ("pause", "waiting"), ("pause", "succeeded"),
                          ("after", "succeeded")]
    until = done["steps"][2]["output"]["until"]
    assert done["result"]["value"] == until and done["steps"][2]["output"]["until_iso"]
    assert [c["step_id"] for c in fx.CALLS] == ["before", "after"]  # before ran once


async def test_delay_until_a_past_time_goes_straight_on(hub: Hub, ws: str) -> None:
    zap = await make_zap(hub, ws, [delay(until="2001-01-01T00:00:00Z"), echo("after")])
    run = await run_zap(hub, ws, zap)
    assert run["status"] == "succeeded"
    assert rows(run) == [("pause", "succeeded"), ("after", "succeeded")]
    assert run["steps"][0]["output"]["until"] == 978307200.0


async def test_delay_is_bounded_and_checked(hub: Hub, ws: str) -> None:
    hub.settings.max_delay_seconds = 60
    try:
        run = await run_zap(hub, ws, await make_zap(hub, ws, [delay(seconds=3600)]))
    finally:
        hub.settings.max_delay_seconds = 30 * 86400.0
    assert run["status"] == "failed" and run["error"]["code"] == "delay_too_long"
    with pytest.raises(ZapInvalid) as err:
        await make_zap(hub, ws, [delay(seconds=1, until="2030-01-01T00:00:00Z")], name="both")
    assert err.value.extra["errors"] == [
        {"path": "steps[0].input", "message": "give exactly one of seconds and until"}]
    nothing = await run_zap(hub, ws, await make_zap(
        hub, ws, [delay(seconds="{{ trigger.nope }}")], name="nothing"))
    assert nothing["error"]["code"] == "invalid_input"
    bad = await run_zap(hub, ws, await make_zap(
        hub, ws, [delay(until="{{ trigger.when }}")], name="bad"), {"when": "soon"})
    assert bad["error"]["code"] == "invalid_input" and "until" in bad["error"]["message"]


async def test_delay_inside_a_branch(hub: Hub, ws: str) -> None:
    step = {"id": "route", "use": "core.paths", "branches": [
        {"name": "slow", "steps": [delay(seconds=0.3), echo("later")]}]}
    zap = await make_zap(hub, ws, [step])
    waiting = await run_zap(hub, ws, zap, until=("waiting",))
    assert rows(waiting) == [("pause", "waiting")]
    run = await finish(hub, ws, waiting["id"])
    assert run["status"] == "succeeded"
    assert rows(run)[-3:] == [("pause", "succeeded"), ("later", "succeeded"),
                              ("route", "succeeded")]


async def test_an_early_claim_waits_again_without_a_new_row(hub: Hub, ws: str) -> None:
    zap = await make_zap(hub, ws, [delay(seconds=3), echo("after")])
    waiting = await run_zap(hub, ws, zap, until=("waiting",))
    due = (await run_row(hub, waiting["id"])).due_at
    async with hub.db.write() as conn:  # as if a clock ran ahead: claimable too early
        await conn.execute(runs.update().where(runs.c.id == waiting["id"]).values(
            due_at=time.time() - 1))
    early = await finish(hub, ws, waiting["id"], until=("waiting",))
    assert rows(early) == [("pause", "waiting")]
    assert abs((await run_row(hub, waiting["id"])).due_at - due) < 0.01
    done = await finish(hub, ws, waiting["id"])
    assert rows(done) == [("pause", "waiting"), ("pause", "succeeded"), ("after", "succeeded")]
