"""Payload encryption at rest: a ``PayloadCodec`` that seals with a per-workspace data key.

Each workspace has one payload data key (wrapped by the KEK, a row of ``data_keys``) and a
setting ``encrypt_payloads`` (on by default). Sealed blobs start with the format version byte
``0x01``, which plain JSON never does, so blobs written while the setting was off still decode.
"""

from __future__ import annotations

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
    from hub.context import Hub

PURPOSE = "payload"
REFRESH = 30.0  # seconds a workspace's setting is cached (another process may change it)


@dataclass
class _Workspace:
    enabled: bool
    cipher: AESGCM
    aad: bytes
    loaded: float


class SealingCodec(codec.PayloadCodec):
    """Seals payloads with AES-256-GCM under the workspace's payload data key."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self._ws: dict[str, _Workspace] = {}

    async def prepare(self, workspace_id: str) -> None:
        found = self._ws.get(workspace_id)
        if found is not None and time.monotonic() - found.loaded < REFRESH:
            return
        if found is not None:
            found.enabled, found.loaded = await self._enabled(workspace_id), time.monotonic()
            return
        enabled, dek = await self._load_or_create(workspace_id)
        self._ws[workspace_id] = _Workspace(enabled, AESGCM(dek),
                                            envelope.aad(PURPOSE, workspace_id),
                                            time.monotonic())

    def forget(self, workspace_id: str) -> None:
        """Drop the cached setting so the next ``prepare`` reads it again."""
        self._ws.pop(workspace_id, None)

    async def _enabled(self, workspace_id: str) -> bool:
        async with self.hub.db.read() as conn:
            return bool((await conn.execute(sa.select(vault_settings.c.encrypt_payloads).where(
                vault_settings.c.workspace_id == workspace_id))).scalar_one())

    async def _load_or_create(self, workspace_id: str) -> tuple[bool, bytes]:
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
        except IntegrityError:  # another process created it first
            return await self._load_or_create(workspace_id)

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


async def set_encryption(hub: Hub, *, workspace_id: str, enabled: bool) -> None:
    """Turn payload encryption at rest on or off for a workspace (new payloads only)."""
    await hub.payloads.prepare(workspace_id)  # creates the row and key when missing
    async with hub.db.write() as conn:
        await conn.execute(vault_settings.update().where(
            vault_settings.c.workspace_id == workspace_id).values(
            encrypt_payloads=enabled, updated_at=time.time()))
    if isinstance(hub.payloads, SealingCodec):
        hub.payloads.forget(workspace_id)


async def get_settings(hub: Hub, *, workspace_id: str) -> dict[str, Any]:
    """The workspace's payload settings (creating its payload key on first use)."""
    await hub.payloads.prepare(workspace_id)
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(vault_settings).where(
            vault_settings.c.workspace_id == workspace_id))).one()
    return {"encrypt_payloads": bool(row.encrypt_payloads), "updated_at": row.updated_at,
            "refresh_seconds": REFRESH}


async def open_vault(hub: Hub) -> None:
    """At start: refuse to run with a missing KEK, then seal payloads from now on."""
    await keys.check_available(hub)
    hub.payloads = SealingCodec(hub)
    redaction.install_record_factory()  # masks secrets in every record, whatever the handler
