"""``core.call_zap``: start a run of another zap of the workspace, and read how it ended.

The child run records its parent (``runs.parent_run_id``) and the call's idempotency key
(``runs.call_key``, unique), so a step attempt repeated after a crash finds the run it already
started instead of starting a second one. The depth of nested calls is bounded
(``HUB_MAX_CALL_DEPTH``): a zap calling itself stops with ``call_depth_exceeded``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from hub.errors import StepError
from hub.ids import new_id
from hub.store.codec import PayloadCodec
from hub.store.db import Database
from hub.store.tables import runs, zaps

INPUT_LIMIT = 1_048_576  # as a manual run's input
FINAL = ("succeeded", "failed", "filtered", "cancelled")


@dataclass(frozen=True)
class Outcome:
    status: str
    result: Any
    error: dict[str, Any] | None


@dataclass(frozen=True)
class Caller:
    """The calling run."""

    workspace_id: str
    run_id: str
    round: int = 0  # a re-run of the calling run (its next round) calls anew


class RunCalls:
    """``hub.ZapCalls`` for the steps of one run."""

    def __init__(self, db: Database, payloads: PayloadCodec, wake: Callable[[], None], *,
                 caller: Caller, max_depth: int) -> None:
        self.db, self.payloads, self.wake = db, payloads, wake
        self.workspace_id, self.run_id, self.round = caller.workspace_id, caller.run_id, \
            caller.round
        self.max_depth = max_depth

    async def start(self, *, zap: str, data: Any, key: str) -> str:
        if self.round:
            key = f"{key}#{self.round}"
        blob = self.payloads.encode(self.workspace_id, data)
        if len(blob) > INPUT_LIMIT:
            raise StepError("the called run's input is larger than 1 MiB",
                            code="input_too_large", retryable=False)
        async with self.db.write() as conn:
            found = (await conn.execute(sa.select(runs.c.id).where(
                runs.c.call_key == key))).first()
            if found is not None:  # this attempt repeats one that already started the run
                return str(found.id)
            await self._check_depth(conn)
            target = await self._zap(conn, zap)
            rid, now = new_id("run"), time.time()
            await conn.execute(runs.insert().values(
                id=rid, workspace_id=self.workspace_id, zap_id=target.id,
                zap_version=target.current_version, status="queued", source="call_zap",
                trigger_data=blob, created_at=now, due_at=now, parent_run_id=self.run_id,
                call_key=key))
        self.wake()
        return rid

    async def _zap(self, conn: Any, ref: str) -> Any:
        """The zap named ``ref`` (id or name) in this workspace; never another workspace's."""
        row = (await conn.execute(sa.select(zaps.c.id, zaps.c.enabled, zaps.c.current_version)
                                  .where(zaps.c.workspace_id == self.workspace_id,
                                         zaps.c.deleted_at.is_(None),
                                         sa.or_(zaps.c.id == ref, zaps.c.name == ref)))).first()
        if row is None:
            raise StepError(f"no zap '{ref[:200]}' in this workspace", code="zap_not_found",
                            retryable=False)
        if not row.enabled:
            raise StepError(f"the zap '{ref[:200]}' is disabled", code="zap_disabled",
                            retryable=False)
        return row

    async def _check_depth(self, conn: Any) -> None:
        """Refuse when this run already sits ``max_depth`` calls deep."""
        current, depth = self.run_id, 0
        while current is not None:
            current = (await conn.execute(sa.select(runs.c.parent_run_id).where(
                runs.c.id == current))).scalar()
            if current is not None:
                depth += 1
            if depth >= self.max_depth:
                raise StepError(f"zaps calling zaps nest at most {self.max_depth} deep "
                                "(HUB_MAX_CALL_DEPTH)", code="call_depth_exceeded",
                                retryable=False)


async def outcome(db: Database, payloads: PayloadCodec, workspace_id: str,
                  run_id: str) -> Outcome | None:
    """How the run ended, or ``None`` while it has not."""
    async with db.read() as conn:
        row = (await conn.execute(sa.select(runs.c.status, runs.c.result, runs.c.error).where(
            runs.c.id == run_id, runs.c.workspace_id == workspace_id))).first()
    if row is None:
        return Outcome("cancelled", None, {"code": "run_not_found",
                                           "message": "the called run no longer exists"})
    if row.status not in FINAL:
        return None
    result = payloads.decode(workspace_id, row.result) if row.result is not None else None
    return Outcome(row.status, result, row.error)
