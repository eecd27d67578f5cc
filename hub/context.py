"""The running hub: settings, plugins, registry, database, HTTP client, metrics, worker."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
        self._wake = asyncio.Event()
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

    async def close(self) -> None:
        if self.worker is not None:
            await self.worker.stop()
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
        """Tell an in-process worker that a run is ready."""
        self._wake.set()

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
