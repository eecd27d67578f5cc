"""The running hub: settings, plugins, registry, database, HTTP client, metrics, worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pluggy
import sqlalchemy as sa

from hub.egress import client_from_settings
from hub.errors import NotFound
from hub.metrics import Metrics
from hub.plugins import create_plugin_manager
from hub.registry import Registry, registry_for
from hub.settings import Settings
from hub.store.codec import PayloadCodec
from hub.store.db import Database
from hub.store.notify import Notifier
from hub.store.tables import zap_versions
from hub.vault.payloads import open_vault
from hub.zaps import CompiledZap, compile_zap

if TYPE_CHECKING:
    from hub.engine.worker import Worker
    from hub.intake import Intake
    from hub.secrets import SecretStore

log = logging.getLogger("hub")


class Hub:
    """Everything a request handler, a worker or a CLI command needs, built once per process."""

    def __init__(self, settings: Settings, pm: pluggy.PluginManager, registry: Registry,
                 db: Database) -> None:
        self.settings, self.pm, self.registry, self.db = settings, pm, registry, db
        self.log = log
        self.metrics = Metrics(node=settings.node_name)
        self.payloads: PayloadCodec = PayloadCodec()
        self.http: httpx.AsyncClient | None = None
        self.secrets: SecretStore | None = None
        self.worker: Worker | None = None
        self.intake: Intake | None = None  # webhook intake, created on first use
        self.notifier: Notifier | None = None  # PostgreSQL LISTEN/NOTIFY, see ``listen``
        self._wake = asyncio.Event()
        self._ended: dict[str, set[asyncio.Event]] = {}  # run id -> waiters for its end
        self._compiled: dict[tuple[str, int], CompiledZap] = {}

    @classmethod
    async def open(cls, settings: Settings | None = None, *,
                   pm: pluggy.PluginManager | None = None, migrate: bool = True) -> Hub:
        """Load plugins, validate the registry, open and migrate the database, call startup."""
        settings = settings or Settings()
        pm = pm or create_plugin_manager(settings=settings)
        registry = registry_for(pm)
        db = Database.from_settings(settings)
        hub = cls(settings, pm, registry, db)
        try:
            if settings.otel_enabled:
                from hub import tracing

                tracing.enable()  # refuses (otel_missing) without the extra
            if migrate:
                await db.migrate()
            hub.secrets = pm.hook.secret_store(settings=settings)
            await open_vault(hub)  # refuses to start when a stored KEK id is missing
            hub.http = client_from_settings(settings)
        except BaseException:
            await db.close()
            raise
        pm.hook.startup(hub=hub)
        return hub

    async def listen(self) -> None:
        """On PostgreSQL, wake this process when another node queues a run or ends one a
        sync webhook waits for (``hub.store.notify``); SQLite needs no more than ``wake``."""
        if not self.db.is_postgres or self.notifier is not None:
            return
        self.notifier = Notifier(self.db.url, self.settings.database_schema)
        self.notifier.subscribe("due", lambda _payload: self._wake.set())
        self.notifier.subscribe("done", self._run_ended_here)
        self.notifier.on_connect.append(self._wake.set)  # look for what came while away
        await self.notifier.start()

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
        if self.notifier is not None:
            await self.notifier.close()
        if self.intake is not None:
            await self.intake.close()
        self.pm.hook.shutdown(hub=self)
        if self.http is not None:
            await self.http.aclose()
        await self.db.close()

    def emit(self, event: dict[str, Any]) -> None:
        """Tell ``track_event`` observers; an observer's error is logged, never raised."""
        try:
            self.pm.hook.track_event(hub=self, event=event)
        except Exception:  # noqa: BLE001 - observers must not break runs
            log.exception("track_event observer failed for %s", event.get("type"))

    def wake(self) -> None:
        """Tell the workers, here and (on PostgreSQL) on other nodes, that a run is ready."""
        self._wake.set()
        if self.notifier is not None:
            self.notifier.notify("due")

    @property
    def wakeups(self) -> bool:
        """Whether other nodes' wake-ups reach this process now (so polling can be slow)."""
        return self.notifier is not None and self.notifier.connected

    def run_ended(self, run_id: str, *, broadcast: bool = True) -> None:
        """Wake whoever waits for ``run_id`` to end: here, and with ``broadcast`` elsewhere."""
        self._run_ended_here(run_id)
        if broadcast and self.notifier is not None:
            self.notifier.notify("done", run_id)

    def _run_ended_here(self, run_id: str) -> None:
        for event in self._ended.get(run_id, ()):
            event.set()

    @contextlib.contextmanager
    def run_end_waiter(self, run_id: str) -> Iterator[asyncio.Event]:
        """An event set when ``run_id`` ends (registered until the block exits)."""
        event = asyncio.Event()
        self._ended.setdefault(run_id, set()).add(event)
        try:
            yield event
        finally:
            waiters = self._ended.get(run_id, set())
            waiters.discard(event)
            if not waiters:
                self._ended.pop(run_id, None)

    async def wait_for_work(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
        self._wake.clear()

    async def compiled_zap(self, zap_id: str, version: int) -> CompiledZap:
        """The compiled zap version (versions are immutable, so they are cached)."""
        key = (zap_id, version)
        found = self._compiled.get(key)
        if found is None:
            async with self.db.read() as conn:
                row = (await conn.execute(sa.select(zap_versions.c.definition).where(
                    zap_versions.c.zap_id == zap_id, zap_versions.c.version == version))).first()
            if row is None:
                raise NotFound(f"zap {zap_id} has no version {version}",
                               code="zap_version_not_found")
            found = self._compiled[key] = compile_zap(row.definition, self.registry)
        return found
