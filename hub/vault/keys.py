"""Data keys in the database: create, unwrap, start-up check, status, re-wrap, retire."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.errors import Conflict, HubError
from hub.ids import new_id
from hub.vault import envelope
from hub.vault.tables import data_keys

if TYPE_CHECKING:
    from hub.secrets import SecretStore
    from hub.vault.host import VaultHost


class MissingKey(HubError):
    """Stored data names a KEK the secret store does not hold."""

    code = "missing_key"
    status = 500
    title = "Missing key"

    def __init__(self, key_ids: list[str], where: str, needed_by: str = "stored data") -> None:
        ids = ", ".join(key_ids)
        super().__init__(
            f"{needed_by} is encrypted under key(s) {ids}, not found in {where}. Restore the "
            "key ring file (<data dir>/master.key) or HUB_MASTER_KEY from backup, or configure "
            "the secret-store plugin that holds them, then start again. Nothing was "
            "decrypted, created or changed.",
            extra={"key_ids": key_ids, "expected_in": where})


def _store(hub: VaultHost) -> SecretStore:
    if hub.secrets is None:
        raise HubError("the hub has no secret store", code="no_secret_store")
    return hub.secrets


def _aad(workspace_id: str, key_id: str, purpose: str) -> bytes:
    return envelope.aad("data_key", workspace_id, key_id, purpose)


def kek(store: SecretStore, kek_id: str) -> bytes:
    """The KEK ``kek_id``; a missing one is a ``missing_key`` error, never garbage."""
    try:
        return store.get_key(kek_id)
    except KeyError:
        raise MissingKey([kek_id], store.location()) from None


def record(row: Any) -> str:
    """How errors and reports name a ``data_keys`` row (ids only, never key material)."""
    return f"data_keys {row.id} (workspace {row.workspace_id}, purpose {row.purpose})"


async def create(conn: Any, hub: VaultHost, workspace_id: str,
                 purpose: str) -> tuple[str, bytes]:
    """Insert a new data key wrapped by the current KEK; return its id and plain bytes."""
    store = _store(hub)
    kek_id = store.current_key_id()
    key_id, dek, now = new_id("dk"), envelope.new_key(), time.time()
    wrapped = envelope.wrap(kek(store, kek_id), kek_id, dek, _aad(workspace_id, key_id, purpose))
    await conn.execute(data_keys.insert().values(
        id=key_id, workspace_id=workspace_id, purpose=purpose, kek_id=kek_id, wrapped=wrapped,
        created_at=now, updated_at=now))
    return key_id, dek


def unwrap_row(hub: VaultHost, row: Any) -> bytes:
    """The plain data key of a ``data_keys`` row; failures name the row."""
    what = record(row)
    kek_id = envelope.wrapped_kek_id(row.wrapped, what)
    store = _store(hub)
    try:
        key = store.get_key(kek_id)
    except KeyError:
        raise MissingKey([kek_id], store.location(), what) from None
    return envelope.unwrap(key, row.wrapped, _aad(row.workspace_id, row.id, row.purpose), what)


async def load(conn: Any, hub: VaultHost, key_id: str, workspace_id: str,
               purpose: str) -> bytes:
    """Unwrap data key ``key_id``, which must belong to ``workspace_id`` and ``purpose``."""
    row = (await conn.execute(sa.select(data_keys).where(data_keys.c.id == key_id))).first()
    if row is None:
        raise envelope.DecryptionFailed(f"data_keys {key_id}: no such row (wanted for the "
                                        f"{purpose} of workspace {workspace_id})")
    if row.workspace_id != workspace_id or row.purpose != purpose:
        raise envelope.DecryptionFailed(f"{record(row)}: belongs to another record")
    return unwrap_row(hub, row)


async def counts(hub: VaultHost) -> dict[str, int]:
    """Data keys per KEK id."""
    query = sa.select(data_keys.c.kek_id, sa.func.count()).group_by(data_keys.c.kek_id)
    async with hub.db.read() as conn:
        return {row[0]: row[1] for row in await conn.execute(query)}


async def check_available(hub: VaultHost) -> None:
    """Refuse to start when stored data names a KEK the store lacks (``missing_key``).

    Only a database without any data key (nothing encrypted yet) lets the store create a
    first key; otherwise a lost key ring stays lost until it is restored, and is never
    replaced by a new key.
    """
    store = _store(hub)
    used = await counts(hub)
    if not used:
        store.ensure_key()
    missing = []
    for kek_id in sorted(used):
        try:
            store.get_key(kek_id)
        except KeyError:
            missing.append(kek_id)
    if missing:
        raise MissingKey(missing, store.location())
    store.current_key_id()  # fail at start, not at first use


@dataclass
class Rewrapped:
    """One page of a rotation: rows moved, rows that could not be unwrapped, the cursor."""

    moved: int = 0
    bad: list[dict[str, str]] = field(default_factory=list)
    after: str | None = None  # pass back for the next page; ``None`` when nothing is left


def _bad(row: Any, exc: HubError) -> dict[str, str]:
    return {"table": "data_keys", "id": row.id, "workspace_id": row.workspace_id,
            "purpose": row.purpose, "kek_id": row.kek_id, "code": exc.code,
            "message": exc.message}


def _try_unwrap(hub: VaultHost, row: Any, bad: list[dict[str, str]]) -> bytes | None:
    try:
        return unwrap_row(hub, row)
    except (envelope.DecryptionFailed, MissingKey) as exc:
        bad.append(_bad(row, exc))
        return None


async def rewrap_batch(hub: VaultHost, target: str, batch: int = 200, after: str = "") -> Rewrapped:
    """Re-wrap up to ``batch`` data keys after id ``after`` not yet on KEK ``target``.

    Idempotent and safe while the hub serves: each row is updated only if it still holds
    the wrapping that was read, and the data key itself never changes. A row that cannot be
    unwrapped (corrupt, or under a key the store lacks) is reported in ``bad`` and left as
    it is; the rotation goes on with the others.
    """
    new_kek = kek(_store(hub), target)
    async with hub.db.read() as conn:
        rows = (await conn.execute(sa.select(data_keys).where(
            data_keys.c.kek_id != target, data_keys.c.id > after,
        ).order_by(data_keys.c.id).limit(batch))).all()
    if not rows:
        return Rewrapped()
    out = Rewrapped(after=rows[-1].id)
    updates = []
    for row in rows:
        dek = _try_unwrap(hub, row, out.bad)
        if dek is not None:
            updates.append((row, envelope.wrap(new_kek, target, dek,
                                               _aad(row.workspace_id, row.id, row.purpose))))
    if updates:
        now = time.time()
        async with hub.db.write() as conn:
            moved: dict[str, int] = {}
            for row, wrapped in updates:
                done = await conn.execute(data_keys.update().where(
                    data_keys.c.id == row.id, data_keys.c.wrapped == row.wrapped,
                ).values(kek_id=target, wrapped=wrapped, updated_at=now))
                out.moved += done.rowcount
                moved[row.workspace_id] = moved.get(row.workspace_id, 0) + done.rowcount
            await _audit_rotation(conn, target, moved)
    return out


async def _audit_rotation(conn: Any, target: str, moved: dict[str, int]) -> None:
    """One record per workspace whose data keys moved to KEK ``target`` (ids, never keys)."""
    from hub import audit

    await audit.append(conn, [audit.Entry(ws, "vault.keys_rewrapped", audit.current_actor(),
                                          "kek", target, data={"data_keys": n})
                              for ws, n in sorted(moved.items()) if n])


async def unreadable(hub: VaultHost, batch: int = 500) -> list[dict[str, str]]:
    """Every data key that cannot be unwrapped now, with its id and the reason."""
    bad: list[dict[str, str]] = []
    after = ""
    while True:
        async with hub.db.read() as conn:
            rows = (await conn.execute(sa.select(data_keys).where(
                data_keys.c.id > after).order_by(data_keys.c.id).limit(batch))).all()
        if not rows:
            return bad
        for row in rows:
            _try_unwrap(hub, row, bad)
        after = rows[-1].id


async def pending(hub: VaultHost, target: str) -> int:
    """Data keys not yet wrapped by ``target``."""
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(data_keys).where(
            data_keys.c.kek_id != target))).scalar_one()


async def check_retirable(hub: VaultHost, kek_id: str) -> None:
    """Raise ``key_in_use`` (with counts) unless nothing uses ``kek_id`` and it is not current."""
    store = _store(hub)
    if kek_id == store.current_key_id():
        raise Conflict(f"key {kek_id} is the current key; rotate to another key first",
                       code="key_in_use", extra={"data_keys": 0, "current": True})
    used = (await counts(hub)).get(kek_id, 0)
    if used:
        raise Conflict(f"key {kek_id} still wraps {used} data key(s); run `hub keys rotate` "
                       "to re-wrap them first", code="key_in_use", extra={"data_keys": used})
