"""The database handle: async engines, SQLite pragmas, migrations.

On SQLite, writes go through a single connection that starts transactions with
``BEGIN IMMEDIATE`` (no lock upgrades, no SQLITE_BUSY surprises across processes); reads use
their own pool in WAL mode. The writer runs with ``synchronous=FULL`` by default: its commits
back promises made to someone outside (a 2xx to a webhook sender, a finished step), and in WAL
mode ``NORMAL`` can drop the last commits on a power cut. On PostgreSQL one pool serves both.
"""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hub.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


SYNCHRONOUS = ("full", "normal")


def sqlite_pragmas(synchronous: str) -> tuple[str, ...]:
    """The pragmas of every SQLite connection the hub opens (``synchronous`` validated)."""
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
    return ("journal_mode=WAL", f"synchronous={synchronous.upper()}", "busy_timeout=10000",
            "foreign_keys=ON")


def _sqlite_engine(url: str, *, writer: bool, synchronous: str) -> AsyncEngine:
    engine = create_async_engine(url, pool_size=1 if writer else 4, max_overflow=0)
    pragmas = sqlite_pragmas(synchronous if writer else "normal")  # readers never commit

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        for pragma in pragmas:
            cur.execute(f"PRAGMA {pragma}")
        cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writer else "BEGIN")

    return engine


class Database:
    """Async access to the hub's database. ``write()`` and ``read()`` yield a connection
    inside a transaction that commits on success and rolls back on error."""

    def __init__(self, url: str, *, schema: str | None = None,
                 synchronous: str = "full") -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.is_postgres = url.startswith("postgresql")
        self.synchronous = synchronous
        if self.is_sqlite:
            self._prepare_sqlite_dir(url)
            self.writer = _sqlite_engine(url, writer=True, synchronous=synchronous)
            self.reader = _sqlite_engine(url, writer=False, synchronous=synchronous)
        else:
            args: dict[str, Any] = {}
            if schema:
                args["server_settings"] = {"search_path": schema}
            self.writer = self.reader = create_async_engine(
                url, pool_size=10, max_overflow=10, connect_args=args)

    @staticmethod
    def _prepare_sqlite_dir(url: str) -> None:
        """Create the data directory (0700) and the database file (0600) before SQLite does:
        SQLite gives its ``-wal`` and ``-shm`` files the database file's mode."""
        path = url.split(":///", 1)[-1].split("?", 1)[0]
        if path and path != ":memory:" and not path.startswith("file:"):
            Path(path).parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.close(os.open(path, os.O_RDONLY | os.O_CREAT, 0o600))

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls(settings.resolved_database_url, schema=settings.database_schema,
                   synchronous=settings.sqlite_synchronous)

    def now(self, *, stable: bool = False) -> Any:
        """The current time (UNIX seconds) for a statement inside ``write()``.

        On SQLite the writer holds the database lock once ``write()`` has yielded, so the
        process clock read then is later than any wait for the lock. On PostgreSQL the
        statement reads the server's clock (``clock_timestamp()``) when it writes, so a lease
        is judged by one clock whatever host its worker runs on; ``stable=True`` gives the
        statement's start instead (``statement_timestamp()``), which an index can compare with.
        """
        if self.is_postgres:
            fn = sa.func.statement_timestamp() if stable else sa.func.clock_timestamp()
            return sa.cast(sa.extract("epoch", fn), sa.Float(precision=53))
        return time.time()

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        async with self.writer.begin() as conn:
            yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        async with self.reader.connect() as conn:
            yield conn

    async def migrate(self) -> None:
        """Bring the schema to the newest migration (safe to call from several processes)."""
        if self.is_sqlite:
            await self._migrate_sqlite()
            return
        async with self.writer.begin() as conn:
            if self.is_postgres:
                await conn.execute(sa.text("SELECT pg_advisory_xact_lock(7215843)"))
            await conn.run_sync(_upgrade)

    async def _migrate_sqlite(self) -> None:
        """Migrate with foreign keys off (SQLite rebuilds a table to alter it, and dropping a
        referenced table would break them), then check every foreign key before committing."""
        async with self.writer.connect() as conn:
            raw = (await conn.get_raw_connection()).driver_connection
            await raw.execute("PRAGMA foreign_keys=OFF")  # only outside a transaction
            try:
                async with conn.begin():
                    await conn.run_sync(_upgrade)
                    broken = (await conn.exec_driver_sql("PRAGMA foreign_key_check")).first()
                    if broken is not None:
                        raise RuntimeError(f"migration left a broken foreign key: {broken}")
            finally:
                await raw.execute("PRAGMA foreign_keys=ON")

    async def close(self) -> None:
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _upgrade(sync_conn: sa.Connection) -> None:
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, "heads")  # feature branches of the schema may each add a head
