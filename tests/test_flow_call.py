# ruff: noqa: F811 - the hub and ws fixtures come from flow_support
"""``core.call_zap``: start another zap of the workspace and wait for its result without
holding a worker (or not wait); the child records its parent; another workspace's zap is not
found; a zap calling itself stops at the depth limit."""

from __future__ import annotations

from typing import Any

from engine_support import run_row
from flow_support import echo, finish, hub, make_zap, rows, run_zap, ws  # noqa: F401

from hub.context import Hub
from hub.engine.calls import Caller, RunCalls
from hub.engine.executor import RunExecution
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from plugins import engine_fixtures as fx


def call(zap: str, wait: bool = True, **inp: Any) -> dict[str, Any]:
    return {"id": "call", "use": "core.call_zap",
            "input": {"zap": zap, "input": inp or {"n": "{{ trigger.n }}"}, "wait": wait}}


async def test_call_waits_for_the_child_without_holding_a_worker(hub: Hub, ws: str) -> None:
    await make_zap(hub, ws, [echo("c1", value="{{ trigger.n }}", sleep=0.3)],
                   name="child", output={"doubled": "{{ [trigger.n, trigger.n] }}"})
    parent = await make_zap(hub, ws, [call("child"), echo("after", value="{{ steps.call }}")],
                            name="parent")
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=parent, data={"n": 7}))["id"]
    worker = Worker(hub, concurrency=1, poll_interval=0.01)  # one slot: both runs need it
    await worker.run_until_idle(30)
    assert worker.active == {}
    run = await runs_svc.get_run(hub, workspace_id=ws, run_id=rid)
    assert run["status"] == "succeeded", run
    assert rows(run) == [("call", "waiting"), ("call", "succeeded"), ("after", "succeeded")]
    out = run["result"]["value"]
    assert out["status"] == "succeeded" and out["result"] == {"doubled": [7, 7]}
    kid = await runs_svc.get_run(hub, workspace_id=ws, run_id=out["run_id"])
    assert kid["parent_run_id"] == rid and kid["source"] == "call_zap"
    assert kid["trigger"] == {"n": 7} and run["parent_run_id"] is None
    listed = await runs_svc.list_runs(hub, workspace_id=ws, zap_id=kid["zap_id"])
    assert listed["items"][0]["parent_run_id"] == rid


async def test_call_without_waiting_goes_on_at_once(hub: Hub, ws: str) -> None:
    await make_zap(hub, ws, [echo("c1")], name="child")
    parent = await make_zap(hub, ws, [call("child", wait=False)], name="parent")
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=parent, data={"n": 1}))["id"]
    run = await finish(hub, ws, rid)
    assert run["status"] == "succeeded" and run["result"]["status"] == "queued"
    assert (await run_row(hub, run["result"]["run_id"])).status == "succeeded"


async def test_a_failed_child_fails_the_calling_step(hub: Hub, ws: str) -> None:
    await make_zap(hub, ws, [echo("c1", fatal=True)], name="child")
    run = await run_zap(hub, ws, await make_zap(hub, ws, [call("child")], name="parent"),
                        {"n": 1})
    assert run["status"] == "failed"
    assert run["error"]["code"] == "called_run_failed" and "fatal_thing" in \
        run["error"]["message"]


async def test_cancelling_the_child_wakes_the_waiting_parent(hub: Hub, ws: str) -> None:
    child = await make_zap(hub, ws, [echo("c1")], name="child")
    parent = await make_zap(hub, ws, [call("child")], name="parent")
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=parent, data={"n": 1}))["id"]
    worker = Worker(hub, poll_interval=0.01)
    [claimed] = await worker.claim(1)  # only the parent: it starts the child and waits
    cz = await hub.compiled_zap(claimed.zap_id, claimed.zap_version)
    assert await RunExecution(hub, worker.cp, claimed, cz, worker.leases.fence).execute() \
        == "waiting"
    await worker.cp.close()
    kid = (await runs_svc.list_runs(hub, workspace_id=ws, zap_id=child))["items"][0]
    assert (await run_row(hub, rid)).due_at > (await run_row(hub, kid["id"])).created_at + 60
    await runs_svc.cancel_run(hub, workspace_id=ws, run_id=kid["id"])
    run = await finish(hub, ws, rid, timeout=10)
    assert run["status"] == "failed" and run["error"]["code"] == "called_run_failed"
    assert "cancelled" in run["error"]["message"]


async def test_another_workspaces_zap_is_not_found(hub: Hub, ws: str) -> None:
    other = await identity.create_workspace(hub, name="Other", owner_email="o@other.io")
    theirs = await make_zap(hub, other["workspace_id"], [echo("x")], name="theirs")
    for ref in ("theirs", theirs, "nothing"):
        run = await run_zap(hub, ws, await make_zap(hub, ws, [call(ref)], name=f"p-{ref}"),
                            {"n": 1})
        assert run["status"] == "failed" and run["error"]["code"] == "zap_not_found"
    assert fx.CALLS == []


async def test_recursion_stops_at_the_depth_limit(hub: Hub, ws: str) -> None:
    hub.settings.max_call_depth = 3
    try:
        zap = await make_zap(hub, ws, [echo("in"), call("self")], name="self")
        run = await run_zap(hub, ws, zap, {"n": 1})
    finally:
        hub.settings.max_call_depth = 5
    assert run["status"] == "failed"
    assert run["error"]["code"] == "called_run_failed"
    chain = [run]
    while chain[-1]["error"]["code"] == "called_run_failed":
        kid = chain[-1]["error"]["run_id"]
        chain.append(await runs_svc.get_run(hub, workspace_id=ws, run_id=kid))
    assert len(chain) == 4  # the run itself and three nested calls
    assert chain[-1]["error"]["code"] == "call_depth_exceeded"
    assert [c["parent_run_id"] for c in chain[1:]] == [c["id"] for c in chain[:-1]]


async def test_a_repeated_attempt_finds_the_run_it_started(hub: Hub, ws: str) -> None:
    await make_zap(hub, ws, [echo("c1")], name="child")
    parent = await make_zap(hub, ws, [echo("p")], name="parent")
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=parent, data={}))["id"]
    calls = RunCalls(hub.db, hub.payloads, hub.wake, caller=Caller(ws, rid), max_depth=5)
    await hub.payloads.prepare(ws)
    first = await calls.start(zap="child", data={"a": 1}, key=f"{rid}:call")
    assert await calls.start(zap="child", data={"a": 1}, key=f"{rid}:call") == first
    assert await calls.start(zap="child", data={"a": 1}, key=f"{rid}:other") != first


async def test_a_rerun_calls_the_zap_anew(hub: Hub, ws: str) -> None:
    await make_zap(hub, ws, [echo("c1", label="flaky_child")], name="child")
    fx.FAILING.add("flaky_child")
    run = await run_zap(hub, ws, await make_zap(hub, ws, [call("child")], name="parent"),
                        {"n": 1})
    assert run["status"] == "failed" and run["error"]["code"] == "called_run_failed"
    first_child = run["error"]["run_id"]
    fx.FAILING.clear()
    await runs_svc.rerun(hub, workspace_id=ws, run_id=run["id"])
    again = await finish(hub, ws, run["id"])
    assert again["status"] == "succeeded", again["error"]
    assert again["result"]["run_id"] != first_child and again["result"]["status"] == "succeeded"


async def test_a_loop_fans_out_calls_without_waiting(hub: Hub, ws: str) -> None:
    child = await make_zap(hub, ws, [echo("c1", value="{{ trigger.n }}")], name="child")
    fan = {"id": "each", "use": "core.loop", "input": {"items": "{{ trigger.items }}"},
           "steps": [{"id": "call", "use": "core.call_zap", "input": {
               "zap": "child", "input": {"n": "{{ loop.item }}"}, "wait": False}}]}
    run = await run_zap(hub, ws, await make_zap(hub, ws, [fan], name="parent"),
                        {"items": [1, 2, 3]})
    assert run["status"] == "succeeded"
    kids = (await runs_svc.list_runs(hub, workspace_id=ws, zap_id=child))["items"]
    assert len(kids) == 3 and {k["parent_run_id"] for k in kids} == {run["id"]}
    await finish(hub, ws, kids[0]["id"])
    assert sorted(c["label"] for c in fx.CALLS) == ["c1", "c1", "c1"]


async def test_an_oversized_input_is_refused(hub: Hub, ws: str) -> None:
    await make_zap(hub, ws, [echo("c1")], name="child")
    step = call("child", a="{{ trigger.s }}", b="{{ trigger.s }}", c="{{ trigger.s }}")
    run = await run_zap(hub, ws, await make_zap(hub, ws, [step], name="parent"),
                        {"s": "x" * 400_000})
    assert run["status"] == "failed" and run["error"]["code"] == "input_too_large"
