"""The intake's SQLite write path: a whole batch (dedupe lookup, run and event inserts,
commit) in ONE call on a dedicated thread with its own ``sqlite3`` connection.

Through the async driver every statement is a separate thread hop, and each hop waits for a
busy event loop; one hop per batch keeps accept latency flat under load. The SQL is compiled
from the table definitions, so it follows the schema.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite

from hub.intake.tables import trigger_events
from hub.store.db import sqlite_pragmas
from hub.store.tables import runs, zap_versions

if TYPE_CHECKING:
    from hub.intake.store import Event

CHECKPOINT_EVERY = 1.0  # seconds between background WAL checkpoints while writing
RUN_COLS = ("id", "workspace_id", "zap_id", "zap_version", "status", "source", "trigger_data",
            "created_at", "due_at")
EVENT_COLS = ("id", "workspace_id", "zap_id", "source", "dedupe_key", "run_id", "created_at",
              "expires_at")


#: a triggered run acts for the zap's owner: who saved the version it runs
RUN_OWNER = sa.select(zap_versions.c.created_by).where(
    zap_versions.c.zap_id == sa.bindparam("owner_zap"),
    zap_versions.c.version == sa.bindparam("owner_version")).scalar_subquery()


def _insert_sql(table: Any, cols: tuple[str, ...], **exprs: Any) -> str:
    stmt = table.insert().values({**{c: None for c in cols}, **exprs})
    compiled = stmt.compile(dialect=sqlite.dialect())
    extra = ("owner_zap", "owner_version") if exprs else ()
    assert tuple(compiled.positiontup or ()) == cols + extra, compiled.positiontup
    return str(compiled)


class SqliteBatchWriter:
    """Runs ``write(events, resolve)`` on one thread that owns one connection."""

    def __init__(self, path: str, synchronous: str = "full") -> None:
        self.path = path
        # FULL by default: a 2xx promises the sender the delivery survives a power cut too.
        self.pragmas = (*sqlite_pragmas(synchronous), "wal_autocheckpoint=0")
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-intake-db")
        # Checkpoints (the only fsync in WAL mode) run beside the commits, never inside one.
        self.checkpointer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hub-wal")
        self.conn: sqlite3.Connection | None = None
        self.last_checkpoint = time.monotonic()
        self.checkpointing: Future[None] | None = None
        self.insert_run = _insert_sql(runs, RUN_COLS, started_by=RUN_OWNER)
        self.insert_event = _insert_sql(trigger_events, EVENT_COLS)
        t = trigger_events.name
        self.select = (f"SELECT id, zap_id, dedupe_key, run_id, expires_at FROM {t} "
                       "WHERE zap_id = ? AND dedupe_key IN ({marks})")
        self.delete = f"DELETE FROM {t} WHERE id = ?"

    async def write(self, events: list[Event], resolve: Any) -> list[Any]:
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(self.pool, self._write, events, resolve)
        now = time.monotonic()
        idle = self.checkpointing is None or self.checkpointing.done()
        if idle and now - self.last_checkpoint > CHECKPOINT_EVERY:
            self.last_checkpoint = now
            self.checkpointing = self.checkpointer.submit(self._checkpoint)
        return results

    def _checkpoint(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=10)
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def close(self) -> None:
        def _close() -> None:
            if self.conn is not None:
                self.conn.close()
                self.conn = None

        self.pool.submit(_close)
        self.pool.shutdown(wait=True)
        self.checkpointer.shutdown(wait=True)

    def _connect(self) -> sqlite3.Connection:
        if self.conn is None:
            self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            for pragma in self.pragmas:
                self.conn.execute(f"PRAGMA {pragma}")
        return self.conn

    def _existing(self, conn: sqlite3.Connection, events: list[Event]) -> dict[Any, Any]:
        by_zap: dict[str, set[str]] = {}
        for e in events:
            if e.dedupe_key is not None:
                by_zap.setdefault(e.zap_id, set()).add(e.dedupe_key)
        seen: dict[Any, Any] = {}
        now = events[0].now
        for zap_id, keys in by_zap.items():
            sql = self.select.format(marks=",".join("?" * len(keys)))
            for row_id, zid, key, run_id, expires in conn.execute(sql, (zap_id, *keys)):
                if expires is not None and expires <= now:
                    conn.execute(self.delete, (row_id,))
                else:
                    seen[(zid, key)] = run_id
        return seen

    def _write(self, events: list[Event], resolve: Any) -> list[Any]:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            fresh, results = resolve(events, self._existing(conn, events))
            with_runs = [e for e in fresh if e.blob is not None]
            if with_runs:
                conn.executemany(self.insert_run, [
                    (e.run_id, e.workspace_id, e.zap_id, e.zap_version, "queued", e.source,
                     e.blob, e.now, e.now, e.zap_id, e.zap_version) for e in with_runs])
            if fresh:
                conn.executemany(self.insert_event, [
                    (e.event_id, e.workspace_id, e.zap_id, e.source, e.dedupe_key,
                     e.run_id if e.blob is not None else None, e.now, e.expires_at)
                    for e in fresh])
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return results


def sqlite_path(url: str) -> str | None:
    """The file of a file-backed SQLite URL (``None`` for memory or other databases)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[-1]
    return path if path and path != ":memory:" else None
