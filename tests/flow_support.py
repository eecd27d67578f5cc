"""Shared pieces of the flow-step tests (paths, loop, delay, call_zap, on_failure)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from engine_support import open_hub

from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
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


def echo(sid: str, label: str | None = None, **inp: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"id": sid, "use": "eng.echo", "input": {"label": label or sid, **inp}}
    if "when" in inp:
        step["when"] = step["input"].pop("when")
    return step


async def make_zap(hub: Hub, ws: str, steps: list[dict[str, Any]], name: str = "z",
                   **extra: Any) -> str:
    document = {"name": name, "trigger": {"kind": "manual"}, "steps": steps, **extra}
    return (await zaps_svc.create_zap(hub, workspace_id=ws, document=document))["id"]


async def finish(hub: Hub, ws: str, run_id: str, timeout: float = 30.0,
                 until: tuple[str, ...] = runs_svc.FINAL) -> dict[str, Any]:
    """Drive a worker until the run's status is in ``until`` (retries requeue it later)."""
    worker = Worker(hub, poll_interval=0.01)
    deadline = time.monotonic() + timeout
    try:
        while True:
            await worker.run_until_idle(timeout)
            run = await runs_svc.get_run(hub, workspace_id=ws, run_id=run_id)
            if run["status"] in until:
                return run
            assert time.monotonic() < deadline, f"run still {run['status']}"
            await asyncio.sleep(0.005)
    finally:
        await worker.cp.close()


async def run_zap(hub: Hub, ws: str, zap_id: str, data: Any = None,
                  until: tuple[str, ...] = runs_svc.FINAL) -> dict[str, Any]:
    """Start a run, drive a worker until it ends (or reaches ``until``), return its detail."""
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap_id, data=data or {}))["id"]
    return await finish(hub, ws, rid, until=until)


def rows(run: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["step_id"], s["status"]) for s in run["steps"]]
