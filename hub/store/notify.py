"""Wake-ups across nodes with PostgreSQL ``LISTEN/NOTIFY``.

Each process keeps one dedicated asyncpg connection (outside the pool) that listens on the
hub's channels and also sends its notifications. Notifications are only wake-ups: the runs
table stays the truth, and every waiter also polls, slowly, as a fallback, so a notification
lost while the connection is down delays work but loses none. The connection is re-opened
after a database restart (with backoff), and subscribers are told so they look for work they
may have missed.

Channels carry the schema name, so hubs sharing one database in different schemas do not
wake each other. Sends are coalesced: a wake-up already pending is not sent twice, and all
pending ones go in one statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

log = logging.getLogger("hub.notify")
BACKOFF = (0.1, 0.25, 0.5, 1.0, 2.0)
PING_EVERY = 5.0  # seconds between liveness checks of an idle listening connection
#: What each channel means; the payload of ``done`` is a run id.
CHANNELS = ("due", "done")

Callback = Callable[[str], None]


def channel_name(kind: str, schema: str | None) -> str:
    """The PostgreSQL channel of ``kind`` for one schema (a safe, short identifier)."""
    tag = hashlib.sha256((schema or "public").encode()).hexdigest()[:12]
    return f"hub_{kind}_{tag}"


def asyncpg_dsn(url: str) -> str:
    """A libpq DSN from a SQLAlchemy ``postgresql+asyncpg://`` URL."""
    return sa.engine.make_url(url).set(drivername="postgresql").render_as_string(
        hide_password=False)


class Notifier:
    """Listens on and sends to the hub's channels over one dedicated connection."""

    def __init__(self, url: str, schema: str | None = None) -> None:
        self.dsn = asyncpg_dsn(url)
        self.channels = {kind: channel_name(kind, schema) for kind in CHANNELS}
        self.kinds = {name: kind for kind, name in self.channels.items()}
        self.subscribers: dict[str, list[Callback]] = {kind: [] for kind in CHANNELS}
        self.on_connect: list[Callable[[], None]] = []
        self.conn: Any = None
        self.connects = 0
        self._pending: dict[tuple[str, str], None] = {}
        self._kick = asyncio.Event()
        self._lost = asyncio.Event()
        self._busy = asyncio.Lock()  # one statement at a time on the connection
        self._task: asyncio.Task[None] | None = None
        self._sender: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self.conn is not None and not self.conn.is_closed()

    def subscribe(self, kind: str, callback: Callback) -> None:
        self.subscribers[kind].append(callback)

    async def start(self, timeout: float = 5.0) -> None:
        """Connect and listen (waits up to ``timeout`` s for the first connection)."""
        ready = asyncio.Event()
        self.on_connect.append(ready.set)
        self._task = asyncio.create_task(self._keep_listening(), name="hub-listener")
        self._sender = asyncio.create_task(self._send_loop(), name="hub-notifier")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(ready.wait(), timeout)
        self.on_connect.remove(ready.set)

    async def close(self) -> None:
        for task in (self._task, self._sender):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self.conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.conn.close(), 2.0)

    def notify(self, kind: str, payload: str = "") -> None:
        """Send a wake-up soon (coalesced with the ones pending); dropped while disconnected."""
        if self.connected:
            self._pending[(self.channels[kind], payload)] = None
            self._kick.set()

    # --- the connection -------------------------------------------------------------------

    async def _connect(self) -> None:
        import asyncpg

        conn = await asyncpg.connect(self.dsn, timeout=5.0)
        conn.add_termination_listener(lambda _c: self._lost.set())
        for name in self.kinds:
            await conn.add_listener(name, self._received)
        self.conn = conn
        self.connects += 1
        self._lost.clear()
        for callback in list(self.on_connect):
            callback()

    async def _keep_listening(self) -> None:
        failures = 0
        while True:
            try:
                await self._connect()
                failures = 0
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is down or restarting
                if failures == 0:
                    log.warning("listening for wake-ups failed (%s); polling until it is back",
                                type(exc).__name__)
                await asyncio.sleep(BACKOFF[min(failures, len(BACKOFF) - 1)])
                failures += 1
            finally:
                await self._drop()

    async def _watch(self) -> None:
        """Return once the connection is lost (closed, or no answer to a ping)."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lost.wait(), PING_EVERY)
            if self._lost.is_set() or self.conn.is_closed():
                raise ConnectionError("the listening connection was closed")
            async with self._busy:
                await asyncio.wait_for(self.conn.fetchval("SELECT 1"), PING_EVERY)

    async def _drop(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            conn.terminate()

    def _received(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        for callback in self.subscribers.get(self.kinds.get(channel, ""), ()):
            try:
                callback(payload)
            except Exception:  # noqa: BLE001 - one subscriber must not silence the others
                log.exception("a wake-up subscriber failed")

    async def _send_loop(self) -> None:
        while True:
            await self._kick.wait()
            self._kick.clear()
            batch, self._pending = list(self._pending), {}
            if not batch or not self.connected:
                continue
            try:
                async with self._busy:
                    await self.conn.execute(
                        "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)",
                        [c for c, _ in batch], [p for _, p in batch])
            except Exception as exc:  # noqa: BLE001 - waiters fall back to polling
                log.debug("sending wake-ups failed: %s", type(exc).__name__)
