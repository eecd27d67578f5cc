"""The intake's group commit: concurrent deliveries share one write (one statement on
PostgreSQL), the dedupe constraint decides duplicates across processes, an expired delivery
id may be used again, and one bad delivery fails alone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event as sa_event

from hub.context import Hub
from hub.ids import new_id
from hub.intake.store import Event, EventWriter, Outcome
from hub.intake.tables import trigger_events
from hub.services import identity
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import runs

ZAP = {"name": "hook", "trigger": {"kind": "webhook"},
       "steps": [{"id": "t", "use": "core.transform", "input": {"n": 1}}]}


@pytest.fixture
async def zap(hub: Hub, owner: identity.Principal) -> tuple[str, str]:
    made = await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id, document=ZAP)
    await hub.payloads.prepare(owner.workspace_id)
    return owner.workspace_id, made["id"]


def delivery(hub: Hub, ws: str, zap_id: str, key: str | None, *, window: float = 60.0,
             now: float | None = None) -> Event:
    now = time.time() if now is None else now
    rid = new_id("run")
    return Event("evt" + rid[3:], rid, ws, zap_id, 1, "webhook", key,
                 hub.payloads.encode(ws, {"k": key}), now, now + window)


async def counts(hub: Hub, zap_id: str) -> tuple[int, int]:
    async with hub.db.read() as conn:
        n_runs = (await conn.execute(sa.select(sa.func.count()).where(
            runs.c.zap_id == zap_id))).scalar()
        n_events = (await conn.execute(sa.select(sa.func.count()).where(
            trigger_events.c.zap_id == zap_id))).scalar()
    return n_runs, n_events


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
async def test_concurrent_deliveries_share_one_statement(hub: Hub, zap: tuple[str, str]) -> None:
    ws, zap_id = zap
    writer = EventWriter(hub)
    statements: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_a: Any) -> None:
        statements.append(statement)

    sa_event.listen(hub.db.writer.sync_engine, "before_cursor_execute", seen)
    try:
        events = [delivery(hub, ws, zap_id, f"d{i % 40}") for i in range(50)]
        outcomes = await asyncio.gather(*(writer.submit(e) for e in events))
    finally:
        sa_event.remove(hub.db.writer.sync_engine, "before_cursor_execute", seen)
        await writer.close()
    assert len(statements) == 1 and "trigger_events" in statements[0]
    assert [o.duplicate for o in outcomes] == [False] * 40 + [True] * 10
    assert [o.run_id for o in outcomes[40:]] == [o.run_id for o in outcomes[:10]]
    assert await counts(hub, zap_id) == (40, 40)


async def test_duplicates_across_processes_start_one_run(hub: Hub, settings: Settings,
                                                         zap: tuple[str, str]) -> None:
    ws, zap_id = zap
    other = await Hub.open(settings)
    writers = [EventWriter(hub), EventWriter(other)]
    try:
        await other.payloads.prepare(ws)
        events = [delivery(hub, ws, zap_id, f"k{i % 5}") for i in range(40)]
        outcomes: list[Outcome] = await asyncio.gather(*(
            writers[i % 2].submit(e) for i, e in enumerate(events)))
    finally:
        for w in writers:
            await w.close()
        await other.close()
    by_key: dict[str, set[str | None]] = {}
    for e, o in zip(events, outcomes, strict=True):
        by_key.setdefault(e.dedupe_key or "", set()).add(o.run_id)
    assert all(len(ids) == 1 and None not in ids for ids in by_key.values())
    assert sum(not o.duplicate for o in outcomes) == 5
    assert await counts(hub, zap_id) == (5, 5)


async def test_an_expired_delivery_id_starts_a_new_run(hub: Hub, zap: tuple[str, str]) -> None:
    ws, zap_id = zap
    writer = EventWriter(hub)
    try:
        old = await writer.submit(delivery(hub, ws, zap_id, "same", window=1.0,
                                           now=time.time() - 10))
        again = await writer.submit(delivery(hub, ws, zap_id, "same"))
        repeat = await writer.submit(delivery(hub, ws, zap_id, "same"))
    finally:
        await writer.close()
    assert not old.duplicate and not again.duplicate and again.run_id != old.run_id
    assert repeat.duplicate and repeat.run_id == again.run_id
    assert await counts(hub, zap_id) == (2, 1)


async def test_a_bad_delivery_fails_alone_in_its_batch(hub: Hub, zap: tuple[str, str]) -> None:
    ws, zap_id = zap
    writer = EventWriter(hub)
    try:
        good = [delivery(hub, ws, zap_id, f"g{i}") for i in range(6)]
        bad = delivery(hub, ws, "zap_does_not_exist", "b")  # refused by a foreign key
        results = await asyncio.gather(*(writer.submit(e) for e in [*good[:3], bad, *good[3:]]),
                                       return_exceptions=True)
    finally:
        await writer.close()
    assert isinstance(results[3], Exception)
    assert all(isinstance(r, Outcome) and not r.duplicate
               for i, r in enumerate(results) if i != 3)
    assert await counts(hub, zap_id) == (6, 6)
