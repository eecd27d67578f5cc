"""Group commit of step checkpoints.

Each step waits until its checkpoint is committed before the run goes on (durable), but
checkpoints from all concurrent runs of a worker share one transaction, so the database does
one commit per batch instead of one per step. Every write checks that this worker still holds
the run's lease *in the same generation* (the fencing token ``runs.claims``); a run whose lease
expired or moved, even to a later claim by this same worker, gets ``LeaseLost`` and no write.
A batch that fails is retried op by op, so only the guilty checkpoint fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hub import audit
from hub.store.db import Database
from hub.store.tables import run_steps, runs

#: an extra write of a checkpoint, run in its transaction (e.g. an approval request row)
Write = Callable[[Any], Awaitable[None]]


class LeaseLost(Exception):
    """Another worker (or a later claim) owns the run now; this one must stop touching it."""


@dataclass
class _Op:
    run_id: str
    generation: int
    steps: list[dict[str, Any]]
    run_update: dict[str, Any] | None
    future: asyncio.Future[None] = field(repr=False)
    writes: list[Write] = field(default_factory=list)
    audit: list[audit.Entry] = field(default_factory=list)


class Checkpointer:
    def __init__(self, db: Database, owner: str) -> None:
        self.db, self.owner = db, owner
        self._pending: list[_Op] = []
        self._kick = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def commit(self, run_id: str, generation: int, *,
                     steps: list[dict[str, Any]] | None = None,
                     run_update: dict[str, Any] | None = None,
                     writes: list[Write] | None = None,
                     entries: list[audit.Entry] | None = None) -> None:
        """Durably write ``steps`` rows and the ``run_update`` for ``run_id``, with ``writes``
        and the audit ``entries`` in the same transaction (batched with other runs').

        Raises ``LeaseLost`` (and writes nothing) unless this worker holds the run's lease of
        claim ``generation``.
        """
        fut = asyncio.get_running_loop().create_future()
        self._pending.append(_Op(run_id, generation, steps or [], run_update, fut,
                                 writes or [], entries or []))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._loop(), name="hub-checkpointer")
        self._kick.set()
        await fut

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            batch, self._pending = self._pending, []
            if batch:
                await self._flush(batch)

    async def _flush(self, batch: list[_Op]) -> None:
        try:
            lost = await self._write(batch)
        except Exception as exc:  # noqa: BLE001 - handed to the waiting step(s)
            if len(batch) > 1:  # find the guilty op: the others must not fail with it
                for op in batch:
                    await self._flush([op])
                return
            if not batch[0].future.done():
                batch[0].future.set_exception(exc)
            return
        for op in batch:
            if op.future.done():
                continue
            if id(op) in lost:
                op.future.set_exception(LeaseLost(op.run_id))
            else:
                op.future.set_result(None)

    async def _write(self, batch: list[_Op]) -> set[int]:
        """Write the ops whose lease still holds; return the ``id()`` of the others."""
        async with self.db.write() as conn:
            query = sa.select(runs.c.id, runs.c.claims).where(
                runs.c.id.in_({op.run_id for op in batch}), runs.c.status == "running",
                runs.c.lease_owner == self.owner)
            if self.db.is_postgres:
                query = query.with_for_update()
            held = {row.id: row.claims for row in await conn.execute(query)}
            ok = [op for op in batch if held.get(op.run_id) == op.generation]
            rows = [row for op in ok for row in op.steps]
            if rows:
                await conn.execute(run_steps.insert(), rows)
            await self._update_runs(conn, ok)
            for op in ok:
                for write in op.writes:
                    await write(conn)
            await audit.append(conn, [e for op in ok for e in op.audit])  # last: locks heads
        return {id(op) for op in batch} - {id(op) for op in ok}

    @staticmethod
    async def _update_runs(conn: Any, ops: list[_Op]) -> None:
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for op in ops:
            if op.run_update:
                keys = tuple(sorted(op.run_update))
                groups.setdefault(keys, []).append(
                    {"_id": op.run_id, **{f"v_{k}": v for k, v in op.run_update.items()}})
        for keys, params in groups.items():
            stmt = runs.update().where(runs.c.id == sa.bindparam("_id")).values(
                {k: sa.bindparam(f"v_{k}") for k in keys})
            await conn.execute(stmt, params)
