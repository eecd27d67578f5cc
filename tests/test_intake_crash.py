"""SIGKILL the server during a load of signed webhooks: every delivery that got a 2xx has
exactly one run after the restart, and the runs complete."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import sqlalchemy as sa
from test_webhook_support import SECRET, add_secret, signed, webhook_zap

from hub.context import Hub
from hub.intake.hooks import hook_of
from hub.intake.tables import trigger_events
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import runs
from hub.testing.people import owner_token


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(settings: Settings, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(settings.data_dir), HUB_PORT=str(port), HUB_LOG_LEVEL="WARNING",
               HUB_POLL_INTERVAL="0.05")
    if settings.database_url:
        env.update(HUB_DATABASE_URL=settings.database_url,
                   HUB_DATABASE_SCHEMA=settings.database_schema or "")
    return env


async def _serve(settings: Settings, port: int, log: Path, worker: bool) -> subprocess.Popen:
    args = [sys.executable, "-m", "hub", "serve"] + ([] if worker else ["--no-worker"])
    proc = subprocess.Popen(args, env=_env(settings, port), stdout=log.open("ab"),
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as answer:
                    if answer.status == 200:
                        return proc
            except aiohttp.ClientError:
                pass
            assert proc.poll() is None, log.read_text()
            await asyncio.sleep(0.1)
    proc.kill()
    raise AssertionError("hub serve did not start: " + log.read_text())


async def _setup(settings: Settings) -> tuple[str, str]:
    hub = await Hub.open(settings)
    try:
        token = await owner_token(hub)
        ws = (await identity.authenticate(hub, token)).workspace_id
        await add_secret(hub, ws)
        zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=webhook_zap(
            signature="github", connection="gh-secret"))
        async with hub.db.read() as conn:
            hook = await hook_of(conn, zap["id"])
        assert hook
        return zap["id"], hook
    finally:
        await hub.close()


async def _load(url: str, proc: subprocess.Popen, kill_after: int) -> dict[str, str]:
    """Signed deliveries from 16 clients; SIGKILL once ``kill_after`` got a 2xx."""
    acked: dict[str, str] = {}
    counter = iter(range(1_000_000))

    async def client(session: aiohttp.ClientSession) -> None:
        while proc.poll() is None:
            delivery = f"d-{next(counter)}"
            req = signed({"delivery": delivery, "pad": "x" * 900}, delivery=delivery)
            try:
                async with session.post(url, data=req["content"],
                                        headers=req["headers"]) as answer:
                    if answer.status in (200, 202):
                        acked[delivery] = (await answer.json())["run_id"]
            except (TimeoutError, aiohttp.ClientError):
                continue
            if len(acked) >= kill_after and proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()

    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*[client(session) for _ in range(16)])
    return acked


async def _check(settings: Settings, zap_id: str, acked: dict[str, str]) -> list[str]:
    hub = await Hub.open(settings)
    try:
        async with hub.db.read() as conn:
            events = (await conn.execute(sa.select(
                trigger_events.c.dedupe_key, trigger_events.c.run_id).where(
                trigger_events.c.zap_id == zap_id))).all()
            run_rows = (await conn.execute(sa.select(runs.c.id, runs.c.status).where(
                runs.c.zap_id == zap_id))).all()
    finally:
        await hub.close()
    by_key = {e.dedupe_key: e.run_id for e in events}
    assert len(by_key) == len(events)
    for delivery, run_id in acked.items():
        assert by_key.get(delivery) == run_id, delivery
    assert {r.id for r in run_rows} == {e.run_id for e in events}  # no run without its event
    return [r.status for r in run_rows if r.id in set(acked.values())]


async def test_sigkill_during_load_loses_and_repeats_nothing(settings: Settings,
                                                              tmp_path: Path) -> None:
    zap_id, hook = await _setup(settings)
    port = _free_port()
    log = tmp_path / "serve.log"
    url = f"http://127.0.0.1:{port}/hooks/{hook}"
    proc = await _serve(settings, port, log, worker=False)
    try:
        acked = await _load(url, proc, kill_after=300)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL and len(acked) >= 300
    await _check(settings, zap_id, acked)
    proc = await _serve(settings, port, log, worker=True)
    try:
        statuses: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            statuses = await _check(settings, zap_id, acked)
            if all(s == "succeeded" for s in statuses):
                break
            await asyncio.sleep(0.2)
        assert len(statuses) == len(acked) and set(statuses) == {"succeeded"}
        async with aiohttp.ClientSession() as session:  # a retried delivery is a duplicate
            delivery, run_id = next(iter(acked.items()))
            req: dict[str, Any] = signed({"delivery": delivery, "pad": "x" * 900},
                                         delivery=delivery)
            async with session.post(url, data=req["content"], headers=req["headers"]) as again:
                assert again.status == 200 and (await again.json())["run_id"] == run_id
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    assert SECRET not in log.read_text()
