"""LISTEN/NOTIFY wake-ups on PostgreSQL: an idle worker on another node starts a queued run at
once, claims a retry when it falls due, a sync webhook's wait ends when another node ends the
run, and the listener comes back after its connection is killed."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from engine_support import echo, open_hub, queue, until

from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.testing.people import owner_token
from plugins import engine_fixtures as fx

pytestmark = pytest.mark.parametrize("settings", ["postgres"], indirect=True)
SLOW = 30.0  # an idle worker's own poll: far longer than any wait below


@pytest.fixture
async def nodes(settings: Settings) -> AsyncIterator[tuple[Hub, Hub]]:
    """Two hubs on one database, both listening: ``a`` queues runs, ``b`` works them."""
    fx.reset()
    slow = settings.model_copy(update={"wakeup_fallback": SLOW})
    a, b = await open_hub(slow), await open_hub(slow)
    try:
        await asyncio.gather(a.listen(), b.listen())
        assert a.wakeups and b.wakeups
        yield a, b
    finally:
        await asyncio.gather(a.close(), b.close())
        fx.reset()


async def _idle_worker(hub: Hub) -> Worker:
    worker = Worker(hub, poll_interval=SLOW)
    hub.worker = worker
    worker.start()
    await asyncio.sleep(0.3)  # its first claim found nothing: it sleeps now
    return worker


async def test_a_queued_run_wakes_an_idle_worker_on_another_node(
        nodes: tuple[Hub, Hub]) -> None:
    a, b = nodes
    owner = await identity.authenticate(a, await owner_token(a))
    await _idle_worker(b)
    began = time.monotonic()
    [rid] = await queue(a, owner.workspace_id, [echo("s")])
    run = await runs_svc.wait_for_run(a, workspace_id=owner.workspace_id, run_id=rid,
                                      timeout=10)
    assert run["status"] == "succeeded"
    assert time.monotonic() - began < 3.0


async def test_a_retry_is_claimed_when_due_not_at_the_next_poll(nodes: tuple[Hub, Hub]) -> None:
    a, b = nodes
    owner = await identity.authenticate(a, await owner_token(a))
    await _idle_worker(b)
    retry = {"attempts": 2, "backoff": 1.0, "jitter": False}
    [rid] = await queue(a, owner.workspace_id, [echo("s", fail_until=1, retry=retry)])
    run = await runs_svc.wait_for_run(a, workspace_id=owner.workspace_id, run_id=rid,
                                      timeout=10)
    assert run["status"] == "succeeded"
    attempts = [c for c in fx.CALLS if c["run_id"] == rid]
    assert len(attempts) == 2


async def test_the_end_of_a_sync_webhook_run_wakes_its_waiter_on_another_node(
        nodes: tuple[Hub, Hub]) -> None:
    a, b = nodes
    owner = await identity.authenticate(a, await owner_token(a))
    doc = {"name": "sync", "trigger": {"kind": "webhook", "config": {"response": "sync"}},
           "steps": [echo("s")]}
    zap = await zaps_svc.create_zap(a, workspace_id=owner.workspace_id, document=doc)
    rid = (await runs_svc.start_run(a, workspace_id=owner.workspace_id, zap_id=zap["id"],
                                    data={}))["id"]
    with a.run_end_waiter(rid) as ended:  # set by the notification alone: nothing polls here
        await _idle_worker(b)
        await asyncio.wait_for(ended.wait(), 10)


async def test_the_listener_reconnects_after_its_connection_is_killed(
        nodes: tuple[Hub, Hub]) -> None:
    a, b = nodes
    assert b.notifier is not None
    pid = b.notifier.conn.get_server_pid()
    async with a.db.write() as conn:
        await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    await until(lambda: b.notifier.connects == 2 and b.wakeups, timeout=10)
    owner = await identity.authenticate(a, await owner_token(a))
    await _idle_worker(b)
    [rid] = await queue(a, owner.workspace_id, [echo("s")])
    run = await runs_svc.wait_for_run(a, workspace_id=owner.workspace_id, run_id=rid,
                                      timeout=10)
    assert run["status"] == "succeeded"
