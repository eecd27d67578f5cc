"""Shared pieces of the engine tests that run workers, child processes and leases."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from hub.context import Hub
from hub.plugins import create_plugin_manager
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import run_steps, runs
from plugins import engine_fixtures as fx

CHILD = Path(fx.__file__).with_name("engine_child.py")


async def open_hub(settings: Settings) -> Hub:
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(fx, name="enginefixtures")
    return await Hub.open(settings, pm=pm)


def echo(sid: str, **inp: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"id": sid, "use": "eng.echo", "input": {"label": sid, **inp}}
    for key in ("retry", "timeout", "when"):
        if key in inp:
            step[key] = step["input"].pop(key)
    return step


async def queue(hub: Hub, ws: str, steps: list[dict[str, Any]], n: int = 1,
                name: str = "z") -> list[str]:
    doc = {"name": name, "trigger": {"kind": "manual"}, "steps": steps}
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=doc)
    return [(await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data={"i": i}))["id"]
            for i in range(n)]


async def until(predicate: Any, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def run_row(hub: Hub, run_id: str) -> Any:
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(runs).where(runs.c.id == run_id))).one()


async def step_rows(hub: Hub, run_id: str) -> list[tuple[str, str]]:
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(run_steps.c.step_id, run_steps.c.status).where(
            run_steps.c.run_id == run_id).order_by(run_steps.c.seq))
        return [tuple(r) for r in rows]


def child_env(settings: Settings, block: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(settings.data_dir), "HUB_LEASE_SECONDS": "1.0",
                "HUB_DATABASE_URL": settings.resolved_database_url, fx.BLOCK_ENV: block})
    if settings.database_schema:
        env["HUB_DATABASE_SCHEMA"] = settings.database_schema
    return env


def effects(log: Path) -> list[tuple[str, str]]:
    if not log.exists():
        return []
    return [tuple(line.split()[:2]) for line in log.read_text().splitlines()]


async def steal(hub: Hub, run_id: str) -> None:
    """Another worker takes the run over (a later claim: new owner, next generation)."""
    async with hub.db.write() as conn:
        await conn.execute(runs.update().where(runs.c.id == run_id).values(
            lease_owner="thief:1:feed", claims=runs.c.claims + 1))
