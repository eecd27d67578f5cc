"""Poll triggers against a real HTTP server on loopback serving pages of items."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field

from hub import Connector, PollResult, PollTrigger, hookimpl
from hub.context import Hub
from hub.errors import ZapInvalid
from hub.intake.tables import trigger_events
from hub.plugins import create_plugin_manager
from hub.scheduler import Scheduler
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import runs


class FeedConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(title="Feed URL")


class NewItems(PollTrigger):
    key = "new_items"
    title = "New items"
    Config = FeedConfig
    dedupe_key = "id"

    async def poll(self, config: FeedConfig, creds: Any, cursor: Any,
                   http: httpx.AsyncClient) -> PollResult:
        answer = await http.get(f"{config.base_url}/items", params={"after": cursor or 0})
        answer.raise_for_status()
        page = answer.json()
        return PollResult(items=page["items"], cursor=page["next"])


class Feed(Connector):
    key = "testfeed"
    title = "Feed"
    triggers = (NewItems,)


class FeedPlugin:
    @hookimpl
    def register_connectors(self, register) -> None:  # type: ignore[no-untyped-def]
        register(Feed)


class Server:
    """Serves ``items`` newer than ``?after=``; ``ignore_cursor`` replays everything."""

    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []
        self.ignore_cursor = False
        self.fail = False
        self.calls = 0

    async def handle(self, request: web.Request) -> web.Response:
        self.calls += 1
        if self.fail:
            return web.json_response({"error": "down"}, status=500)
        after = 0 if self.ignore_cursor else int(request.query.get("after", 0))
        page = [i for i in self.items if i["id"] > after]
        return web.json_response({"items": page,
                                  "next": max((i["id"] for i in self.items), default=after)})


@pytest.fixture
async def feed() -> AsyncIterator[tuple[Server, str]]:
    server = Server()
    app = web.Application()
    app.router.add_get("/items", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    settings = settings.model_copy(update={"egress_allow": "127.0.0.1/32"})
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(FeedPlugin(), name="testfeed")
    h = await Hub.open(settings, pm=pm)
    try:
        yield h
    finally:
        await h.close()


def poll_zap(url: str, **extra: Any) -> dict[str, Any]:
    return {"name": "poller", "trigger": {"kind": "poll", "config": {
        "source": "testfeed.new_items", "interval": 1, "config": {"base_url": url}, **extra}},
        "steps": [{"id": "t", "use": "core.transform", "input": {"id": "{{ trigger.id }}"}}]}


async def _run_items(hub: Hub, zap_id: str) -> list[int]:
    async with hub.db.read() as conn:
        rows = (await conn.execute(sa.select(runs.c.workspace_id, runs.c.trigger_data).where(
            runs.c.zap_id == zap_id))).all()
    for ws in {r.workspace_id for r in rows}:
        await hub.payloads.prepare(ws)
    return sorted(hub.payloads.decode(r.workspace_id, r.trigger_data)["id"] for r in rows)


async def test_baseline_then_one_run_per_new_item(hub: Hub, owner: identity.Principal,
                                                  feed: tuple[Server, str]) -> None:
    server, url = feed
    server.items = [{"id": 1, "title": "a"}, {"id": 2, "title": "b"}]
    zap = await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=poll_zap(url))
    scheduler = Scheduler(hub)
    assert await scheduler.poll_once(zap["id"]) == 0  # the first poll records a baseline
    server.items += [{"id": 3, "title": "c"}, {"id": 4, "title": "d"}]
    assert await scheduler.poll_once(zap["id"]) == 2
    assert await scheduler.poll_once(zap["id"]) == 0
    server.ignore_cursor = True  # a source that replays old items: dedupe still holds
    server.items.append({"id": 5, "title": "e"})
    assert await scheduler.poll_once(zap["id"]) == 1
    assert await _run_items(hub, zap["id"]) == [3, 4, 5]
    async with hub.db.read() as conn:
        keys = (await conn.execute(sa.select(trigger_events.c.dedupe_key).where(
            trigger_events.c.zap_id == zap["id"]))).scalars().all()
    assert sorted(keys) == [f"poll:{i}" for i in range(1, 6)]


async def test_fire_on_first_and_errors(hub: Hub, owner: identity.Principal,
                                        feed: tuple[Server, str]) -> None:
    server, url = feed
    server.items = [{"id": 7}]
    zap = await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id,
                                    document=poll_zap(url, fire_on_first=True))
    scheduler = Scheduler(hub)
    server.fail = True
    assert await scheduler.poll_once(zap["id"]) == 0
    assert scheduler.fired.labels(kind="poll", outcome="error")._value.get() == 1
    server.fail = False
    assert await scheduler.poll_once(zap["id"]) == 1
    assert await _run_items(hub, zap["id"]) == [7]


async def test_scheduler_polls_on_its_interval(hub: Hub, owner: identity.Principal,
                                               feed: tuple[Server, str]) -> None:
    server, url = feed
    zap = await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=poll_zap(url))
    scheduler = Scheduler(hub)
    await scheduler.start()
    try:
        for _ in range(100):
            if server.calls:
                break
            await asyncio.sleep(0.05)
        server.items.append({"id": 1})
        for _ in range(100):
            if await _run_items(hub, zap["id"]):
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert await _run_items(hub, zap["id"]) == [1]


async def test_unknown_poll_source_is_refused(hub: Hub, owner: identity.Principal) -> None:
    doc = poll_zap("http://x")
    doc["trigger"]["config"]["source"] = "testfeed.nope"
    with pytest.raises(ZapInvalid) as err:
        await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=doc)
    assert err.value.errors[0]["path"] == "trigger.config.source"
    doc["trigger"]["config"].update(source="testfeed.new_items", config={"base": 1})
    with pytest.raises(ZapInvalid) as err:
        await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=doc)
    assert err.value.errors[0]["path"].startswith("trigger.config.config")
