"""Payload encryption at rest: a ``PayloadCodec`` that seals with a per-workspace data key.

Each workspace has one payload data key (wrapped by the KEK, a row of ``data_keys``) and a
setting ``encrypt_payloads`` (on by default). Sealed blobs start with the format version byte
``0x01``, which plain JSON never does, so blobs written while the setting was off still decode.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.exc import IntegrityError

from hub import redaction
from hub.errors import HubError
from hub.store import codec
from hub.vault import envelope, keys
from hub.vault.tables import vault_settings

if TYPE_CHECKING:
    from hub.vault.host import VaultHost

PURPOSE = "payload"
SENSITIVE = "sensitive"  # associated data of sealed originals: never decodable as a payload
REFRESH = 30.0  # seconds a workspace's setting is cached (another process may change it)
RETRY_UNREADABLE = 5.0  # seconds an unreadable payload key is not tried again (nor logged)
log = logging.getLogger("hub.vault")


class WorkspaceKeyUnreadable(HubError):
    """The workspace's payload data key cannot be unwrapped: its runs can be neither stored
    nor read until the key (its ``data_keys`` row or the KEK) is restored from backup."""

    code = "workspace_key_unreadable"
    status = 503
    title = "Workspace key unreadable"


@dataclass
class _Workspace:
    enabled: bool
    cipher: AESGCM
    aad: bytes
    loaded: float


class SealingCodec(codec.PayloadCodec):
    """Seals payloads with AES-256-GCM under the workspace's payload data key.

    ``prepare`` loads each workspace once: concurrent callers share one load (which takes
    one pooled connection at a time, never two), and a workspace whose key cannot be
    unwrapped fails fast with ``workspace_key_unreadable`` for ``RETRY_UNREADABLE`` seconds,
    logged once, without touching other workspaces.
    """

    def __init__(self, hub: VaultHost) -> None:
        self.hub = hub
        self._ws: dict[str, _Workspace] = {}
        self._unreadable: dict[str, tuple[WorkspaceKeyUnreadable, float]] = {}
        self._loading: dict[str, asyncio.Task[None]] = {}

    async def prepare(self, workspace_id: str) -> None:
        found = self._ws.get(workspace_id)
        if found is not None and time.monotonic() - found.loaded < REFRESH:
            return
        failed = self._unreadable.get(workspace_id)
        if failed is not None and time.monotonic() - failed[1] < RETRY_UNREADABLE:
            raise WorkspaceKeyUnreadable(failed[0].message, extra=failed[0].extra)
        task = self._loading.get(workspace_id)
        if task is None:
            task = asyncio.create_task(self._load(workspace_id))
            self._loading[workspace_id] = task
            task.add_done_callback(lambda t: self._loaded(workspace_id, t))
        await asyncio.shield(task)

    def _loaded(self, workspace_id: str, task: asyncio.Task[None]) -> None:
        if self._loading.get(workspace_id) is task:
            del self._loading[workspace_id]
        if not task.cancelled():
            task.exception()  # retrieved here too, in case every waiter was cancelled

    async def _load(self, workspace_id: str) -> None:
        found = self._ws.get(workspace_id)
        if found is not None:
            found.enabled, found.loaded = await self._enabled(workspace_id), time.monotonic()
            return
        try:
            enabled, dek = await self._load_or_create(workspace_id)
        except (envelope.DecryptionFailed, keys.MissingKey) as exc:
            error = WorkspaceKeyUnreadable(
                f"workspace {workspace_id}: its payload key (vault_settings {workspace_id}) "
                f"is unreadable: {exc.message}. Restore it from backup",
                extra={"workspace_id": workspace_id, "cause": exc.code})
            log.error("vault: %s", error.message)
            self._unreadable[workspace_id] = (error, time.monotonic())
            raise error from None
        self._unreadable.pop(workspace_id, None)
        self._ws[workspace_id] = _Workspace(enabled, AESGCM(dek),
                                            envelope.aad(PURPOSE, workspace_id),
                                            time.monotonic())

    def forget(self, workspace_id: str) -> None:
        """Drop the cached setting so the next ``prepare`` reads it again."""
        self._ws.pop(workspace_id, None)
        self._unreadable.pop(workspace_id, None)

    async def _enabled(self, workspace_id: str) -> bool:
        async with self.hub.db.read() as conn:
            return bool((await conn.execute(sa.select(vault_settings.c.encrypt_payloads).where(
                vault_settings.c.workspace_id == workspace_id))).scalar_one())

    async def _load_or_create(self, workspace_id: str, again: bool = True) -> tuple[bool, bytes]:
        query = sa.select(vault_settings).where(vault_settings.c.workspace_id == workspace_id)
        async with self.hub.db.read() as conn:
            row = (await conn.execute(query)).first()
            if row is not None:
                dek = await keys.load(conn, self.hub, row.payload_key_id, workspace_id, PURPOSE)
                return row.encrypt_payloads, dek
        try:
            async with self.hub.db.write() as conn:
                key_id, dek = await keys.create(conn, self.hub, workspace_id, PURPOSE)
                await conn.execute(vault_settings.insert().values(
                    workspace_id=workspace_id, encrypt_payloads=True, payload_key_id=key_id,
                    updated_at=time.time()))
            return True, dek
        except IntegrityError:  # another process created it first (or no such workspace)
            if not again:
                raise
            return await self._load_or_create(workspace_id, again=False)

    def _get(self, workspace_id: str) -> _Workspace:
        found = self._ws.get(workspace_id)
        if found is None:
            raise HubError(f"payload keys of workspace {workspace_id} are not loaded "
                           "(call prepare first)", code="payloads_not_prepared", status=500)
        return found

    def encode(self, workspace_id: str, value: Any) -> bytes:
        ws = self._get(workspace_id)
        plain = codec.encode(value)
        return envelope.seal(ws.cipher, plain, ws.aad) if ws.enabled else plain

    def decode(self, workspace_id: str, blob: bytes | None) -> Any:
        if blob is None:
            return None
        if not blob or blob[0] != envelope.VERSION:
            return codec.decode(blob)
        ws = self._get(workspace_id)
        return codec.decode(envelope.open_sealed(ws.cipher, blob, ws.aad, "payload"))

    def seal(self, workspace_id: str, value: Any) -> bytes:
        """Always encrypted, whatever the workspace's setting, and only readable by
        ``unseal`` (its own associated data): originals of sensitive inputs."""
        ws = self._get(workspace_id)
        return envelope.seal(ws.cipher, codec.encode(value),
                             envelope.aad(SENSITIVE, workspace_id))

    def unseal(self, workspace_id: str, blob: bytes) -> Any:
        ws = self._get(workspace_id)
        return codec.decode(envelope.open_sealed(ws.cipher, blob,
                                                 envelope.aad(SENSITIVE, workspace_id),
                                                 "sensitive data"))


async def set_encryption(hub: VaultHost, *, workspace_id: str, enabled: bool) -> None:
    """Turn payload encryption at rest on or off for a workspace (new payloads only)."""
    from hub import audit

    await hub.payloads.prepare(workspace_id)  # creates the row and key when missing
    async with hub.db.write() as conn:
        await conn.execute(vault_settings.update().where(
            vault_settings.c.workspace_id == workspace_id).values(
            encrypt_payloads=enabled, updated_at=time.time()))
        await audit.append(conn, [audit.Entry(
            workspace_id, "vault.payload_encryption", audit.current_actor(), "workspace",
            workspace_id, data={"enabled": enabled})])
    if isinstance(hub.payloads, SealingCodec):
        hub.payloads.forget(workspace_id)


async def get_settings(hub: VaultHost, *, workspace_id: str) -> dict[str, Any]:
    """The workspace's payload settings (creating its payload key on first use)."""
    await hub.payloads.prepare(workspace_id)
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(vault_settings).where(
            vault_settings.c.workspace_id == workspace_id))).one()
    return {"encrypt_payloads": bool(row.encrypt_payloads), "updated_at": row.updated_at,
            "refresh_seconds": REFRESH}


async def open_vault(hub: VaultHost) -> None:
    """At start: refuse to run with a missing KEK, then seal payloads from now on."""
    await keys.check_available(hub)
    hub.payloads = SealingCodec(hub)
    redaction.install_record_factory()  # masks secrets in every record, whatever the handler
