"""Several nodes on one PostgreSQL: every ``hub worker`` fires schedules and polls, and each
fire or polled item still starts exactly one run."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web
from nodes import servers, workers

from hub.context import Hub
from hub.intake.tables import trigger_events, webhook_hooks
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import runs

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)


class Items:
    """A JSON API whose list of items grows by one on every request."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def handle(self, _request: web.Request) -> web.Response:
        self.calls.append(time.monotonic())
        return web.json_response([{"id": i} for i in range(len(self.calls))])


@pytest.fixture
async def items() -> AsyncIterator[tuple[Items, str]]:
    server = Items()
    app = web.Application()
    app.router.add_get("/items", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server, f"http://127.0.0.1:{port}/items"
    finally:
        await runner.cleanup()


def zap(name: str, kind: str, config: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "trigger": {"kind": kind, "config": config},
            "steps": [{"id": "t", "use": "core.transform", "input": {"n": 1}}]}


async def _runs(hub: Hub, zap_id: str) -> list[Any]:
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(runs.c.id, runs.c.status).where(
            runs.c.zap_id == zap_id))).all()


async def _keys(hub: Hub, zap_id: str) -> list[str]:
    async with hub.db.read() as conn:
        return list((await conn.execute(sa.select(trigger_events.c.dedupe_key).where(
            trigger_events.c.zap_id == zap_id))).scalars())


async def test_three_worker_nodes_fire_each_schedule_and_poll_once(
        hub: Hub, owner: identity.Principal, settings: Settings, tmp_path: Path,
        items: tuple[Items, str]) -> None:
    server, url = items
    ws = owner.workspace_id
    tick = await zaps_svc.create_zap(hub, workspace_id=ws, document=zap(
        "tick", "schedule", {"interval": 1}))
    poll = await zaps_svc.create_zap(hub, workspace_id=ws, document=zap(
        "poll", "poll", {"source": "http.poll_json", "interval": 1, "config": {"url": url}}))
    with workers(settings, 3, tmp_path, egress_allow="127.0.0.1/32") as procs:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (
                len(await _runs(hub, tick["id"])) < 5 or len(server.calls) < 5):
            assert all(p.poll() is None for p in procs), (tmp_path / "worker0.log").read_text()
            await asyncio.sleep(0.2)
        await asyncio.sleep(1.5)  # let every node see the last fires
    fires = await _keys(hub, tick["id"])
    assert len(fires) >= 5 and len(set(fires)) == len(fires)
    assert len(await _runs(hub, tick["id"])) == len(fires)
    # one poll per interval across the three nodes, never three
    span = server.calls[-1] - server.calls[0]
    assert len(server.calls) <= span / 0.8 + 2, server.calls
    polled = collections.Counter(await _keys(hub, poll["id"]))
    assert polled and set(polled.values()) == {1}
    ran = await _runs(hub, poll["id"])
    assert len(ran) == len(polled) - 1  # the first poll's item is the baseline
    assert {r.status for r in await _runs(hub, tick["id"])} <= {"succeeded", "queued",
                                                                "running"}


async def test_a_hook_rate_limit_holds_across_two_serve_processes(
        hub: Hub, owner: identity.Principal, settings: Settings, tmp_path: Path) -> None:
    doc = {"name": "limited", "trigger": {"kind": "webhook", "config": {
        "rate_limit": 4, "burst": 4}}, "steps": [{"id": "t", "use": "core.transform",
                                                  "input": {"n": 1}}]}
    made = await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=doc)
    async with hub.db.read() as conn:
        hook_id = (await conn.execute(sa.select(webhook_hooks.c.id).where(
            webhook_hooks.c.zap_id == made["id"]))).scalar()
    with servers(settings, 2, tmp_path, run_worker="false", run_scheduler="false") as bases:
        clients = [httpx.AsyncClient(base_url=b, timeout=10) for b in bases]
        try:
            began = time.monotonic()
            codes: list[int] = []
            while time.monotonic() - began < 2.0:  # both nodes at once, for two seconds
                answers = await asyncio.gather(*(c.post(f"/hooks/{hook_id}", json={"i": 1})
                                                 for c in clients for _ in range(3)))
                codes += [a.status_code for a in answers]
                await asyncio.sleep(0.05)
            elapsed = time.monotonic() - began
        finally:
            for c in clients:
                await c.aclose()
    accepted = codes.count(202)
    assert set(codes) == {202, 429}
    # one bucket for both nodes: burst + rate x time, not twice that
    assert accepted <= 4 + 4 * elapsed + 1, (accepted, elapsed)
    assert accepted >= 4 + 4 * 1.5
    assert len(await _runs(hub, made["id"])) == accepted
