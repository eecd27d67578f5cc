"""Fair claiming: claims interleave workspaces, a workspace's cap holds across workers, and
one workspace's flood of 10,000 runs does not delay another workspace's run."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa

from hub.context import Hub
from hub.engine.leases import Leases
from hub.engine.worker import Worker
from hub.ids import new_id
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.store.tables import runs

ZAP = {"name": "z", "trigger": {"kind": "manual"},
       "steps": [{"id": "t", "use": "core.transform", "input": {"n": 1}}]}


async def workspace(hub: Hub, name: str) -> tuple[str, str]:
    """A new workspace and a one-step zap in it."""
    made = await identity.create_workspace(hub, name=name, owner_email=f"o@{name}.test")
    ws = made["workspace_id"]
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=ZAP)
    return ws, zap["id"]


async def flood(hub: Hub, ws: str, zap_id: str, n: int, *, ago: float = 10.0) -> None:
    """``n`` queued runs that have waited ``ago`` seconds already (inserted in bulk)."""
    await hub.payloads.prepare(ws)
    blob = hub.payloads.encode(ws, {"i": 0})
    now = time.time() - ago
    rows = [{"id": new_id("run"), "workspace_id": ws, "zap_id": zap_id, "zap_version": 1,
             "status": "queued", "source": "manual", "trigger_data": blob,
             "created_at": now + i * 1e-4, "due_at": now + i * 1e-4} for i in range(n)]
    async with hub.db.write() as conn:
        for start in range(0, n, 2000):
            await conn.execute(runs.insert(), rows[start:start + 2000])


async def by_workspace(claimed: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for c in claimed:
        counts[c.workspace_id] = counts.get(c.workspace_id, 0) + 1
    return counts


async def test_a_claim_interleaves_workspaces(hub: Hub) -> None:
    (a, za), (b, zb), (c, zc) = [await workspace(hub, n) for n in ("a", "b", "c")]
    await flood(hub, a, za, 50, ago=60)
    await flood(hub, b, zb, 2, ago=1)
    await flood(hub, c, zc, 1, ago=0.5)
    leases = Leases(hub.db, "w1", 30.0, 10)
    claimed, _ = await leases.claim(6, exclude=[])
    assert await by_workspace(claimed) == {a: 3, b: 2, c: 1}
    claimed, _ = await leases.claim(100, exclude=[])
    assert await by_workspace(claimed) == {a: 47}


async def test_the_workspace_cap_holds_across_concurrent_claims(hub: Hub) -> None:
    (a, za), (b, zb) = [await workspace(hub, n) for n in ("a", "b")]
    await flood(hub, a, za, 40)
    await flood(hub, b, zb, 3)
    workers = [Leases(hub.db, f"w{i}", 30.0, 10, workspace_cap=5) for i in range(4)]
    results = await asyncio.gather(*(w.claim(10, exclude=[]) for w in workers))
    claimed = [c for got, _ in results for c in got]
    assert await by_workspace(claimed) == {a: 5, b: 3}
    again, _ = await workers[0].claim(10, exclude=[])
    assert again == []  # a is at its cap while those leases live


@pytest.mark.parametrize("settings", ["postgres", "sqlite"], indirect=True)
async def test_a_flood_does_not_delay_another_workspace(hub: Hub) -> None:
    (a, za), (b, zb) = [await workspace(hub, n) for n in ("a", "b")]
    await flood(hub, a, za, 10_000)
    worker = Worker(hub, concurrency=32, poll_interval=0.05)
    worker.start()
    try:
        await asyncio.sleep(0.5)  # the flood is being worked off
        began = time.time()
        run = await runs_svc.start_run(hub, workspace_id=b, zap_id=zb, data={})
        done = await runs_svc.wait_for_run(hub, workspace_id=b, run_id=run["id"], timeout=10)
    finally:
        await worker.stop()
    assert done["status"] == "succeeded"
    async with hub.db.read() as conn:
        started = (await conn.execute(sa.select(runs.c.started_at).where(
            runs.c.id == run["id"]))).scalar()
        left = (await conn.execute(sa.select(sa.func.count()).where(
            runs.c.workspace_id == a, runs.c.status == "queued"))).scalar()
    assert left > 0  # still flooded when b's run started
    assert started - began < 1.0
