"""Key-encryption keys: the ``SecretStore`` interface and the built-in file/env store.

The store is chosen through the ``secret_store`` hook (firstresult); this module is itself a
built-in plugin whose implementation runs last, so any plugin returning a store wins.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from hub.errors import HubError
from hub.hookspecs import hookimpl
from hub.settings import Settings


class SecretStore:
    """Provides key-encryption keys (32 bytes each) by key id.

    Implementations must return the same bytes for the same id forever, and raise
    ``KeyError`` for an id they do not hold.
    """

    def current_key_id(self) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def get_key(self, key_id: str) -> bytes:  # pragma: no cover - interface
        raise NotImplementedError


def key_id_for(key: bytes) -> str:
    """A key's public id: a short fingerprint that reveals nothing of the key."""
    return "k1-" + hashlib.sha256(b"zaphub-kek-id" + key).hexdigest()[:16]


class SingleKeyStore(SecretStore):
    """One key, loaded on first use from a callable (a key file or ``HUB_MASTER_KEY``)."""

    def __init__(self, load: Callable[[], bytes]) -> None:
        self._load = load
        self._key: bytes | None = None

    def _get(self) -> bytes:
        if self._key is None:
            key = self._load()
            if len(key) != 32:
                raise HubError("the master key must be 32 bytes, base64 encoded",
                               code="bad_master_key")
            self._key = key
        return self._key

    def current_key_id(self) -> str:
        return key_id_for(self._get())

    def get_key(self, key_id: str) -> bytes:
        key = self._get()
        if key_id != key_id_for(key):
            raise KeyError(key_id)
        return key


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise HubError("the master key is not valid base64", code="bad_master_key") from None


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file, or create it with mode 0600 on first start."""
    if path.exists():
        return _decode(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    key = os.urandom(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(base64.b64encode(key).decode() + "\n")
    return key


@hookimpl(trylast=True)
def secret_store(settings: Settings) -> SecretStore:
    """Built-in: ``HUB_MASTER_KEY`` if set, else ``<data_dir>/master.key`` (created 0600)."""
    master = settings.master_key
    if master is not None:
        return SingleKeyStore(lambda: _decode(master.get_secret_value()))
    path = settings.data_dir / "master.key"
    return SingleKeyStore(lambda: load_or_create_key_file(path))
