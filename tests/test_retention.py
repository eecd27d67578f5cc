"""Retention: finished runs (with steps and trigger events) pruned by age or by count per
workspace, in batches, while the engine keeps writing; `hub db prune`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from engine_support import echo, open_hub, queue
from typer.testing import CliRunner

from hub.cli import app
from hub.context import Hub
from hub.engine.worker import Worker
from hub.ids import new_id
from hub.intake.tables import trigger_events
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services.retention import Retention, prune, start_pruning
from hub.settings import Settings
from hub.store.tables import run_steps, runs, workspaces
from plugins import engine_fixtures as fx

DAY = 86400.0


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


async def finished_runs(hub: Hub, ws: str, n: int, *, age_days: float = 0,
                        name: str = "z") -> list[str]:
    """``n`` runs executed to the end (two step rows each, one trigger event), aged."""
    ids = await queue(hub, ws, [echo("a"), echo("b")], n=n, name=name)
    worker = Worker(hub, poll_interval=0.02)
    await worker.run_until_idle()
    await worker.stop()
    then = time.time() - age_days * DAY
    async with hub.db.write() as conn:
        for i, rid in enumerate(ids):  # oldest first
            at = then - (n - i)
            await conn.execute(runs.update().where(runs.c.id == rid).values(
                finished_at=at, due_at=at))
            zap_id = (await conn.execute(sa.select(runs.c.zap_id).where(
                runs.c.id == rid))).scalar_one()
            await conn.execute(trigger_events.insert().values(
                id=new_id("evt"), workspace_id=ws, zap_id=zap_id, source="webhook",
                dedupe_key=f"d-{rid}", run_id=rid, created_at=at))
    return ids


async def present(hub: Hub, ids: list[str]) -> list[str]:
    async with hub.db.read() as conn:
        found = set((await conn.execute(sa.select(runs.c.id).where(
            runs.c.id.in_(ids)))).scalars())
    return [i for i in ids if i in found]


async def counts(hub: Hub) -> tuple[int, int, int]:
    async with hub.db.read() as conn:
        return tuple([(await conn.execute(sa.select(sa.func.count()).select_from(t))).scalar_one()
                      for t in (runs, run_steps, trigger_events)])  # type: ignore[return-value]


async def test_prune_by_age_in_batches_keeps_unfinished_runs(
        hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    old = await finished_runs(hub, ws, 5, age_days=10, name="old")
    recent = await finished_runs(hub, ws, 2, age_days=1, name="recent")
    waiting, = await queue(hub, ws, [echo("a")], name="queued")
    async with hub.db.write() as conn:  # an old run still queued is never pruned
        await conn.execute(runs.update().where(runs.c.id == waiting).values(
            created_at=time.time() - 30 * DAY))
    done = await prune(hub.db, Retention(days=7, batch=2), pause=0)
    assert (done.runs, done.steps, done.events, done.batches) == (5, 10, 5, 3)
    assert await present(hub, old) == []
    assert await present(hub, [*recent, waiting]) == [*recent, waiting]
    assert await counts(hub) == (3, 4, 2)
    again = await prune(hub.db, Retention(days=7), pause=0)
    assert again.runs == 0
    run = await runs_svc.get_run(hub, workspace_id=ws, run_id=recent[0])
    assert [s["step_id"] for s in run["steps"]] == ["a", "b"]


async def test_prune_by_count_per_workspace(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    async with hub.db.write() as conn:
        await conn.execute(workspaces.insert().values(id="ws_other", name="Other",
                                                      created_at=time.time()))
    mine = await finished_runs(hub, ws, 5, name="mine")
    theirs = await finished_runs(hub, "ws_other", 2, name="theirs")
    done = await prune(hub.db, Retention(keep=3, batch=1), pause=0)
    assert (done.runs, done.batches) == (2, 2)
    assert await present(hub, mine) == mine[2:]  # the newest three
    assert await present(hub, theirs) == theirs


async def test_pruning_leaves_room_for_the_engine(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    old = await finished_runs(hub, ws, 40, age_days=30, name="old")
    zap_id = (await runs_svc.get_run(hub, workspace_id=ws, run_id=old[0]))["zap_id"]
    started: list[float] = []
    pruning = True

    async def engine_writes() -> None:
        while pruning:
            await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap_id, data={})
            started.append(time.monotonic())
            await asyncio.sleep(0)

    writer = asyncio.create_task(engine_writes())
    await asyncio.sleep(0)
    done = await prune(hub.db, Retention(days=7, batch=5))
    finished = time.monotonic()
    pruning = False
    await writer
    assert (done.runs, done.batches) == (40, 8)
    assert len([t for t in started if t < finished]) >= done.batches  # writes got in between
    assert await present(hub, old) == []


async def test_serve_prunes_in_the_background(hub: Hub, owner: identity.Principal) -> None:
    old = await finished_runs(hub, owner.workspace_id, 3, age_days=3)
    settings = hub.settings.model_copy(update={"run_retention_days": 2.0,
                                               "prune_interval": 1.0})
    assert start_pruning(hub.db, hub.settings) is None  # no retention set: nothing runs
    task = start_pruning(hub.db, settings)
    assert task is not None
    try:
        deadline = time.monotonic() + 20
        while await present(hub, old):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
    finally:
        task.cancel()


def test_hub_db_prune(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(app, ["db", "upgrade"]).exit_code == 0
    r = runner.invoke(app, ["db", "prune"])
    assert r.exit_code == 2 and r.stderr.startswith("error[no_retention]")
    r = runner.invoke(app, ["db", "prune", "--days", "7"])
    assert r.exit_code == 0 and r.output.startswith("pruned 0 runs"), r.output
    for bad in (["--days", "-1"], ["--keep", "0"], ["--days", "x"]):
        r = runner.invoke(app, ["db", "prune", *bad])
        assert r.exit_code == 2 and "Traceback" not in r.output
    monkeypatch.setenv("HUB_RUN_RETENTION_DAYS", "-3")
    r = runner.invoke(app, ["db", "prune"])
    assert r.exit_code == 2 and "HUB_RUN_RETENTION_DAYS" in r.stderr
