"""Graceful shutdown of a real `hub serve` process: SIGTERM flips /readyz to 503 first, the
node drains, finishes short steps, and hands long ones back to the queue at once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from engine_support import echo, open_hub, queue, run_row, step_rows
from serverhelp import free_port

from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import identity
from hub.settings import Settings
from plugins import engine_fixtures as fx

CHILD = Path(fx.__file__).with_name("ops_serve.py")


def start_serve(settings: Settings, log: Path, **extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(settings.data_dir), "HUB_PORT": str(port),
                "HUB_DATABASE_URL": settings.resolved_database_url,
                "HUB_POLL_INTERVAL": "0.05", "HUB_RUN_SCHEDULER": "false", **extra})
    if settings.database_schema:
        env["HUB_DATABASE_SCHEMA"] = settings.database_schema
    out = log.open("w")
    proc = subprocess.Popen([sys.executable, str(CHILD), "serve"], env=env, stdout=out,
                            stderr=subprocess.STDOUT)
    return proc, port


def get(port: int, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2)
    except httpx.HTTPError:
        return None


async def wait_until(check, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not await check():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


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


async def test_sigterm_drains_then_finishes_or_hands_back_runs(
        hub: Hub, owner: identity.Principal, settings: Settings, tmp_path: Path) -> None:
    ws = owner.workspace_id
    short, = await queue(hub, ws, [echo("a", sleep=2.0)], name="short")
    long, = await queue(hub, ws, [echo("a"), echo("b", sleep=60)], name="long")
    log = tmp_path / "serve.log"
    proc, port = start_serve(settings, log, HUB_SHUTDOWN_DRAIN="1.0",
                             HUB_SHUTDOWN_GRACE="3.0")
    try:
        await wait_until(lambda: _answers(port, "/readyz", 200), 60)

        async def both_running() -> bool:
            rows = [await run_row(hub, r) for r in (short, long)]
            return all(r.status == "running" for r in rows) and \
                await step_rows(hub, long) == [("a", "succeeded")]

        await wait_until(both_running)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        await wait_until(lambda: _answers(port, "/readyz", 503), 2)
        assert time.monotonic() - sent < 1.0  # while still serving: the drain
        health = get(port, "/healthz")
        assert health is not None and health.status_code == 200
        proc.wait(timeout=20)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert 1.0 <= took < 8.0, took
    assert get(port, "/healthz") is None  # no longer accepting
    assert "Traceback" not in log.read_text()
    assert (await run_row(hub, short)).status == "succeeded"  # finished within the grace
    row = await run_row(hub, long)
    assert (row.status, row.lease_owner) == ("queued", None)  # handed back
    assert row.due_at <= time.time()
    # Another node resumes it at once, after its last committed step.
    worker = Worker(hub)
    claimed = await worker.claim(10)
    assert [c.id for c in claimed] == [long]
    assert [p["step_id"] for p in claimed[0].prior] == ["a"]


async def _answers(port: int, path: str, status: int) -> bool:
    r = await asyncio.to_thread(get, port, path)
    return r is not None and r.status_code == status




async def test_hub_worker_hands_back_its_runs_on_sigterm(
        hub: Hub, owner: identity.Principal, settings: Settings, tmp_path: Path) -> None:
    long, = await queue(hub, owner.workspace_id, [echo("a"), echo("b", sleep=60)])
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(settings.data_dir), "HUB_POLL_INTERVAL": "0.05",
                "HUB_DATABASE_URL": settings.resolved_database_url, "HUB_SHUTDOWN_GRACE": "1"})
    if settings.database_schema:
        env["HUB_DATABASE_SCHEMA"] = settings.database_schema
    proc = subprocess.Popen([sys.executable, str(CHILD), "worker"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        async def running() -> bool:
            return await step_rows(hub, long) == [("a", "succeeded")]

        await wait_until(running)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.to_thread(proc.communicate, timeout=20)
        took = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert took < 6.0, took
    assert "Traceback" not in err
    row = await run_row(hub, long)
    assert (row.status, row.lease_owner) == ("queued", None) and row.due_at <= time.time()
