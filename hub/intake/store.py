"""Group commit of trigger events and their runs.

"Accepted means stored": every caller awaits the commit of the transaction that holds its
event row and its run row. Concurrent callers share one transaction (one commit per batch, as
in ``hub.engine.checkpoint``). Duplicates are found inside the transaction; a duplicate that
another process inserted at the same moment trips the unique constraint, and the batch is then
retried one event per transaction so each caller still gets an exact answer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.intake.fastsqlite import RUN_OWNER, SqliteBatchWriter, sqlite_path
from hub.intake.tables import trigger_events, trigger_state
from hub.store.tables import runs

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.intake")
DUPLICATE = (IntegrityError, sqlite3.IntegrityError)


@dataclass
class Event:
    """One trigger event to store; ``blob`` is ``None`` for an event that starts no run."""

    event_id: str
    run_id: str
    workspace_id: str
    zap_id: str
    zap_version: int
    source: str
    dedupe_key: str | None
    blob: bytes | None
    now: float
    expires_at: float | None = None
    state: dict[str, Any] | None = None  # trigger_state values to upsert with the event


@dataclass
class Outcome:
    run_id: str | None
    duplicate: bool


@dataclass
class _Op:
    event: Event
    future: asyncio.Future[Outcome] = field(repr=False)


class EventWriter:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._pending: list[_Op] = []
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        path = sqlite_path(hub.db.url)
        self._fast = SqliteBatchWriter(path, hub.db.synchronous) if path else None

    async def submit(self, event: Event) -> Outcome:
        """Store ``event`` (and its run) durably, or report the run of its earlier duplicate."""
        fut: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._pending.append(_Op(event, fut))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="hub-intake-writer")
        self._kick.set()
        return await fut

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._fast is not None:
            self._fast.close()

    async def _loop(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._commit(batch)

    async def _commit(self, batch: list[_Op]) -> None:
        try:
            try:
                results = await self._write([op.event for op in batch])
            except DUPLICATE:
                if len(batch) == 1:
                    results = await self._write([batch[0].event])
                else:
                    results = [await self._write_one(op.event) for op in batch]
        except Exception as exc:  # noqa: BLE001 - handed to every waiting request
            for op in batch:
                if not op.future.done():
                    op.future.set_exception(exc)
            return
        if any(r.run_id and not r.duplicate for r in results):
            self.hub.wake()
        for op, result in zip(batch, results, strict=True):
            if not op.future.done():
                op.future.set_result(result)

    async def _write_one(self, event: Event) -> Outcome:
        try:
            return (await self._write([event]))[0]
        except DUPLICATE:  # inserted by another process meanwhile: now it is visible
            return (await self._write([event]))[0]

    async def _write(self, events: list[Event]) -> list[Outcome]:
        if self._fast is not None and not any(e.state for e in events):
            return await self._fast.write(events, _resolve)
        async with self.hub.db.write() as conn:
            fresh, results = _resolve(events, await _existing(conn, events))
            await _insert(conn, fresh)
        return results


def _resolve(events: list[Event], seen: dict[Any, str | None]) -> tuple[list[Event],
                                                                        list[Outcome]]:
    """Split ``events`` into those to insert and the answers (duplicates get the first run)."""
    fresh: list[Event] = []
    results: list[Outcome] = []
    for ev in events:
        key = (ev.zap_id, ev.dedupe_key)
        if ev.dedupe_key is not None and key in seen:
            results.append(Outcome(seen[key], True))
            continue
        if ev.dedupe_key is not None:
            seen[key] = ev.run_id if ev.blob is not None else None
        fresh.append(ev)
        results.append(Outcome(ev.run_id if ev.blob is not None else None, False))
    return fresh, results


async def _existing(conn: Any, events: list[Event]) -> dict[tuple[str, str | None], str | None]:
    keys = {(e.zap_id, e.dedupe_key) for e in events if e.dedupe_key is not None}
    if not keys:
        return {}
    t = trigger_events.c
    rows = (await conn.execute(sa.select(t.id, t.zap_id, t.dedupe_key, t.run_id, t.expires_at)
                               .where(sa.tuple_(t.zap_id, t.dedupe_key).in_(list(keys))))).all()
    now = events[0].now
    expired = [r.id for r in rows if r.expires_at is not None and r.expires_at <= now]
    if expired:  # outside the dedupe window: the key may be used again
        await conn.execute(trigger_events.delete().where(t.id.in_(expired)))
    return {(r.zap_id, r.dedupe_key): r.run_id for r in rows if r.id not in expired}


async def _insert(conn: Any, events: list[Event]) -> None:
    if not events:
        return
    with_runs = [e for e in events if e.blob is not None]
    if with_runs:
        await conn.execute(runs.insert().values(started_by=RUN_OWNER), [
            {"id": e.run_id, "workspace_id": e.workspace_id, "zap_id": e.zap_id,
             "zap_version": e.zap_version, "status": "queued", "source": e.source,
             "trigger_data": e.blob, "created_at": e.now, "due_at": e.now,
             "owner_zap": e.zap_id, "owner_version": e.zap_version} for e in with_runs])
    await conn.execute(trigger_events.insert(), [
        {"id": e.event_id, "workspace_id": e.workspace_id, "zap_id": e.zap_id,
         "source": e.source, "dedupe_key": e.dedupe_key,
         "run_id": e.run_id if e.blob is not None else None, "created_at": e.now,
         "expires_at": e.expires_at} for e in events])
    for e in events:
        if e.state is not None:
            await save_state(conn, e.zap_id, e.workspace_id, e.state)


async def save_state(conn: Any, zap_id: str, workspace_id: str, values: dict[str, Any]) -> None:
    """Upsert a zap's trigger state (last fire time, poll cursor)."""
    updated = await conn.execute(trigger_state.update().where(
        trigger_state.c.zap_id == zap_id).values(**values))
    if updated.rowcount == 0:
        await conn.execute(trigger_state.insert().values(
            zap_id=zap_id, workspace_id=workspace_id, **{"updated_at": 0.0, **values}))
