"""Crash recovery and concurrency: leases expire, another worker resumes, steps run once."""

from __future__ import annotations

import asyncio
import collections
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from engine_support import (
    CHILD,
    child_env,
    echo,
    effects,
    open_hub,
    queue,
    run_row,
    steal,
    step_rows,
    until,
)

from hub.context import Hub
from hub.engine.checkpoint import LeaseLost
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from hub.settings import Settings
from plugins import engine_fixtures as fx


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the engine test plugin (overrides conftest's ``hub``)."""
    fx.reset()
    h = await open_hub(settings)
    try:
        yield h
    finally:
        await h.close()
        fx.reset()


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


# --- a worker process dies mid-run ----------------------------------------------------------


async def test_killed_worker_is_resumed_after_the_last_committed_step(
        hub: Hub, ws: str, settings: Settings, tmp_path: Path) -> None:
    log = tmp_path / "effects.log"
    [rid] = await queue(hub, ws, [echo(s, log=str(log)) for s in ("s1", "s2", "s3")])
    child = subprocess.Popen([sys.executable, str(CHILD)], env=child_env(settings, "s2"),
                             stdout=subprocess.DEVNULL)
    try:
        await until(lambda: (rid, "s2") in effects(log) or child.poll() is not None)
        assert child.poll() is None, "the child worker exited early"
        assert await step_rows(hub, rid) == [("s1", "succeeded")]  # s1 committed, s2 in flight
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    row = await run_row(hub, rid)
    assert row.status == "running" and row.lease_owner and row.claims == 1

    worker = Worker(hub, lease_seconds=1.0, poll_interval=0.02)
    worker.start()  # claims the run once the dead worker's lease (1 s) has expired
    try:
        run = await runs_svc.wait_for_run(hub, workspace_id=ws, run_id=rid, timeout=20)
    finally:
        await worker.stop()
    assert run["status"] == "succeeded"
    assert collections.Counter(effects(log)) == {(rid, "s1"): 1, (rid, "s2"): 2, (rid, "s3"): 1}
    assert [(s["step_id"], s["status"]) for s in run["steps"]] == [
        ("s1", "succeeded"), ("s2", "succeeded"), ("s3", "succeeded")]
    assert run["steps"][1]["attempt"] == 1  # the killed attempt left no row
    assert (await run_row(hub, rid)).claims == 2
    assert [(c["step_id"], c["attempt"]) for c in fx.CALLS] == [("s2", 1), ("s3", 1)]


async def test_a_run_with_every_step_committed_is_finished_without_running_steps(
        hub: Hub, ws: str) -> None:
    [rid] = await queue(hub, ws, [echo("a"), echo("b")])
    first = Worker(hub, lease_seconds=0.2)
    [claimed] = await first.claim(1)
    now = time.time()
    rows = [{"run_id": rid, "seq": i + 1, "workspace_id": ws, "step_id": s, "step_index": i,
             "round": 0, "attempt": 1, "status": status, "input": None, "output": out,
             "error": None, "started_at": now, "finished_at": now, "idempotency_key": f"{rid}:{s}"}
            for i, (s, status, out) in enumerate([("a", "succeeded", b'{"label":"a"}'),
                                                  ("b", "skipped", None)])]
    await first.cp.commit(claimed.id, claimed.claims, steps=rows)  # then the worker "dies"
    await first.cp.close()
    second = Worker(hub, lease_seconds=1.0, poll_interval=0.01)
    await until(lambda: time.time() > now + 0.25)
    await second.run_until_idle()
    run = await runs_svc.get_run(hub, workspace_id=ws, run_id=rid)
    assert run["status"] == "succeeded"
    assert run["result"] == {"label": "a"}  # a skipped last step keeps the previous output
    assert fx.CALLS == [] and len(run["steps"]) == 2


async def test_cancel_requested_while_the_worker_died_is_honoured(hub: Hub, ws: str) -> None:
    [rid] = await queue(hub, ws, [echo("a")])
    dead = Worker(hub, lease_seconds=0.2)
    await dead.claim(1)  # claimed, then the worker dies before running anything
    claimed_at = time.time()
    out = await runs_svc.cancel_run(hub, workspace_id=ws, run_id=rid)
    assert out["status"] == "cancelling"
    await until(lambda: time.time() > claimed_at + 0.25)
    await Worker(hub, poll_interval=0.01).run_until_idle()
    run = await runs_svc.get_run(hub, workspace_id=ws, run_id=rid)
    assert run["status"] == "cancelled" and run["steps"] == [] and fx.CALLS == []


# --- two workers on one database ------------------------------------------------------------


async def test_two_workers_execute_every_step_exactly_once(
        hub: Hub, ws: str, settings: Settings) -> None:
    n = 40
    ids = await queue(hub, ws, [echo("a", sleep=0.002), echo("b"), echo("c", sleep=0.002)], n)
    other = await open_hub(settings)  # its own engines and pools: a second node
    workers = [Worker(h, concurrency=4, poll_interval=0.01) for h in (hub, other)]
    claimed: collections.Counter[int] = collections.Counter()
    for i, w in enumerate(workers):
        original = w.claim

        async def counting(k: int, i: int = i, original: Any = original) -> Any:
            got = await original(k)
            claimed[i] += len(got)
            return got
        w.claim = counting  # type: ignore[method-assign]
    try:
        await asyncio.gather(*(w.run_until_idle(30) for w in workers))
    finally:
        await other.close()
    assert claimed[0] > 0 and claimed[1] > 0 and claimed[0] + claimed[1] == n
    executed = collections.Counter((c["run_id"], c["step_id"]) for c in fx.CALLS)
    assert set(executed) == {(r, s) for r in ids for s in "abc"}
    assert set(executed.values()) == {1}
    page = await runs_svc.list_runs(hub, workspace_id=ws, limit=n, status="succeeded")
    assert len(page["items"]) == n


# --- a worker that lost its lease may not write ---------------------------------------------


async def test_checkpoint_rejects_a_worker_without_the_lease(hub: Hub, ws: str) -> None:
    [rid] = await queue(hub, ws, [echo("a")])
    worker = Worker(hub)
    [claimed] = await worker.claim(1)
    await steal(hub, rid)
    with pytest.raises(LeaseLost):
        await worker.cp.commit(claimed.id, claimed.claims, run_update={"status": "succeeded"})
    await worker.cp.close()
    row = await run_row(hub, rid)
    assert row.status == "running" and row.lease_owner == "thief:1:feed"


async def test_worker_that_lost_the_lease_writes_nothing(hub: Hub, ws: str) -> None:
    fx.GATE = asyncio.Event()
    [rid] = await queue(hub, ws, [echo("a", gate=True), echo("b")])
    worker = Worker(hub, lease_seconds=30)
    assert await worker.claim_and_start(1) == 1
    task = worker.active[rid]
    await until(lambda: len(fx.CALLS) == 1)
    await steal(hub, rid)
    fx.GATE.set()
    assert await task is None  # LeaseLost: the executor gave up without writing
    await worker.cp.close()
    assert await step_rows(hub, rid) == []
    row = await run_row(hub, rid)
    assert row.status == "running" and row.lease_owner == "thief:1:feed"
    assert [c["step_id"] for c in fx.CALLS] == ["a"]


async def test_heartbeat_stops_a_run_whose_lease_moved(hub: Hub, ws: str) -> None:
    fx.GATE = asyncio.Event()  # never set: only the heartbeat can end the step
    [rid] = await queue(hub, ws, [echo("a", gate=True)])
    worker = Worker(hub, lease_seconds=0.3, poll_interval=0.01)
    worker.start()
    try:
        await until(lambda: len(fx.CALLS) == 1)
        await steal(hub, rid)
        await until(lambda: rid not in worker.active)
    finally:
        await worker.stop()
    assert await step_rows(hub, rid) == []
    assert (await run_row(hub, rid)).lease_owner == "thief:1:feed"
