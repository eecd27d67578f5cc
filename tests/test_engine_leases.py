"""Leases under faults: a slow lock never yields a stale lease, a batch fails only its guilty
checkpoint, and a worker that lost a run (even frozen for longer than its lease) never runs or
writes another step of it."""

from __future__ import annotations

import asyncio
import collections
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
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
from hub.engine.executor import RunExecution
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from hub.settings import Settings
from hub.store.tables import runs
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


def row(run_id: str, ws: str, seq: int, step: str) -> dict[str, Any]:
    now = time.time()
    return {"run_id": run_id, "seq": seq, "workspace_id": ws, "step_id": step, "step_index": 0,
            "round": 0, "attempt": 1, "status": "succeeded", "input": None, "output": None,
            "error": None, "started_at": now, "finished_at": now,
            "idempotency_key": f"{run_id}:{step}"}


# --- item 15: a wait for the write lock longer than the lease -------------------------------


async def test_a_slow_write_lock_never_starts_a_run_twice(hub: Hub, ws: str,
                                                          settings: Settings) -> None:
    if not settings.is_sqlite:
        pytest.skip("SQLite only: the wait is for its database-wide write lock")
    [rid] = await queue(hub, ws, [echo("a", sleep=0.3), echo("b")])
    other = sqlite3.connect(settings.resolved_database_url.split(":///", 1)[1],
                            isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the lock longer than the lease
    worker = Worker(hub, lease_seconds=0.3, poll_interval=0.01)
    worker.start()
    try:
        await asyncio.sleep(0.6)
        other.execute("COMMIT")
        run = await runs_svc.wait_for_run(hub, workspace_id=ws, run_id=rid, timeout=10)
    finally:
        other.close()
        await worker.stop()
    assert run["status"] == "succeeded"
    assert [(c["step_id"], c["attempt"]) for c in fx.CALLS] == [("a", 1), ("b", 1)]
    assert (await run_row(hub, rid)).claims == 1


async def test_a_worker_never_claims_a_run_it_executes(hub: Hub, ws: str) -> None:
    fx.GATE = asyncio.Event()
    [rid] = await queue(hub, ws, [echo("a", gate=True)])
    worker = Worker(hub, lease_seconds=30)
    assert await worker.claim_and_start(1) == 1
    async with hub.db.write() as conn:  # its lease looks expired (e.g. a clock jump)
        await conn.execute(runs.update().where(runs.c.id == rid).values(due_at=0))
    assert await worker.claim(5) == []
    fx.GATE.set()
    assert await worker.active[rid] == "succeeded"
    await worker.cp.close()


# --- one bad checkpoint in a batch ----------------------------------------------------------


async def test_a_bad_checkpoint_fails_alone_in_its_batch(hub: Hub, ws: str) -> None:
    ids = await queue(hub, ws, [echo("a"), echo("b")], n=3)
    worker = Worker(hub)
    claimed = {c.id: c for c in await worker.claim(3)}
    first = claimed[ids[0]]
    await worker.cp.commit(first.id, first.claims, steps=[row(first.id, ws, 1, "a")])
    results = await asyncio.gather(*(  # one batch; the first repeats a succeeded step
        worker.cp.commit(rid, claimed[rid].claims, steps=[row(rid, ws, 2, "a")])
        for rid in ids), return_exceptions=True)
    await worker.cp.close()
    assert isinstance(results[0], sa.exc.IntegrityError) and results[1:] == [None, None]
    assert [await step_rows(hub, rid) for rid in ids] == [[("a", "succeeded")]] * 3


# --- item 16: fencing -----------------------------------------------------------------------


async def test_a_checkpoint_of_an_older_claim_is_refused(hub: Hub, ws: str) -> None:
    [rid] = await queue(hub, ws, [echo("a")])
    worker = Worker(hub)
    [claimed] = await worker.claim(1)
    async with hub.db.write() as conn:  # the same owner claimed it again since
        await conn.execute(runs.update().where(runs.c.id == rid).values(claims=runs.c.claims + 1))
    with pytest.raises(LeaseLost):
        await worker.cp.commit(rid, claimed.claims, steps=[row(rid, ws, 1, "a")])
    await worker.cp.close()
    assert await step_rows(hub, rid) == []


async def test_the_fence_is_free_while_fresh_then_renews_or_stops(
        hub: Hub, ws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    [rid] = await queue(hub, ws, [echo("a")])
    worker = Worker(hub, lease_seconds=0.2)
    await worker.claim(1)
    trips: list[list[str]] = []
    renew = worker.leases.renew

    async def counting(ids: list[str]) -> Any:
        trips.append(ids)
        return await renew(ids)

    monkeypatch.setattr(worker.leases, "renew", counting)
    await worker.leases.fence(rid)
    assert trips == []  # fresh: no round trip
    await asyncio.sleep(0.2)
    before = (await run_row(hub, rid)).due_at
    await worker.leases.fence(rid)  # past its local validity: renewed in the database
    assert trips == [[rid]] and (await run_row(hub, rid)).due_at > before
    await worker.leases.fence(rid)
    assert len(trips) == 1
    await asyncio.sleep(0.2)
    await steal(hub, rid)
    with pytest.raises(LeaseLost):
        await worker.leases.fence(rid)


async def test_a_renewal_tells_lost_from_released(hub: Hub, ws: str) -> None:
    ids = await queue(hub, ws, [echo("a")], n=2)
    worker = Worker(hub)
    claimed = {c.id: c for c in await worker.claim(2)}
    done, taken = ids
    await worker.cp.commit(done, claimed[done].claims, run_update={  # finished just now
        "status": "succeeded", "lease_owner": None})
    await steal(hub, taken)
    renewal = await worker.leases.renew(ids)
    await worker.cp.close()
    assert (renewal.kept, renewal.lost) == (set(), {taken})  # only the stolen one is lost


async def test_a_lost_fence_stops_the_run_before_the_next_side_effect(hub: Hub, ws: str) -> None:
    [rid] = await queue(hub, ws, [echo("a"), echo("b")])
    worker = Worker(hub)
    [claimed] = await worker.claim(1)
    seen: list[str] = []

    async def fence(run_id: str) -> None:
        seen.append(run_id)
        if len(seen) == 2:
            raise LeaseLost(run_id)

    cz = await hub.compiled_zap(claimed.zap_id, claimed.zap_version)
    await hub.payloads.prepare(ws)
    with pytest.raises(LeaseLost):
        await RunExecution(hub, worker.cp, claimed, cz, fence=fence).execute()
    await worker.cp.close()
    assert [c["step_id"] for c in fx.CALLS] == ["a"]  # b's side effect never started
    assert await step_rows(hub, rid) == [("a", "succeeded")]


def _stopped(pid: int) -> bool:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "T"


async def test_a_frozen_worker_reruns_no_completed_step(hub: Hub, ws: str, settings: Settings,
                                                        tmp_path: Path) -> None:
    log = tmp_path / "effects.log"
    steps = ("s1", "s2", "s3", "s4")
    [rid] = await queue(hub, ws, [echo(s, log=str(log)) for s in steps])
    env = {**child_env(settings, ""), fx.FREEZE_ENV: "s2"}  # stops itself after s2's commit
    stderr = tmp_path / "child.err"
    child = subprocess.Popen([sys.executable, str(CHILD)], env=env, stdout=subprocess.DEVNULL,
                             stderr=stderr.open("wb"))
    try:
        await until(lambda: child.poll() is not None or _stopped(child.pid))
        assert child.poll() is None, stderr.read_text()
        assert await step_rows(hub, rid) == [("s1", "succeeded"), ("s2", "succeeded")]
        worker = Worker(hub, lease_seconds=1.0, poll_interval=0.02)
        worker.start()  # takes the run over once the frozen worker's lease (1 s) expired
        try:
            run = await runs_svc.wait_for_run(hub, workspace_id=ws, run_id=rid, timeout=20)
        finally:
            await worker.stop()
        assert run["status"] == "succeeded"
        os.kill(child.pid, signal.SIGCONT)  # wakes up inside the run it no longer owns
        await until(lambda: "lease lost" in stderr.read_text() or len(effects(log)) > 4)
    finally:
        child.kill()
        child.wait(10)
    assert collections.Counter(effects(log)) == {(rid, s): 1 for s in steps}
    assert (await run_row(hub, rid)).claims == 2
