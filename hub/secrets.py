"""Key-encryption keys: the ``SecretStore`` interface and the built-in file/env stores.

The store is chosen through the ``secret_store`` hook (firstresult); this module is itself a
built-in plugin whose implementation runs last, so any plugin returning a store wins.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

from hub.errors import HubError
from hub.hookspecs import hookimpl
from hub.settings import Settings


class SecretStore:
    """Provides key-encryption keys (32 bytes each) by key id.

    Implementations must return the same bytes for the same id forever, and raise
    ``KeyError`` for an id they do not hold. Stores that hold several versions (for rotation)
    list them in ``key_ids``; stores that can create keys implement ``add_key`` and ``use_key``.
    """

    def current_key_id(self) -> str:  # pragma: no cover - interface
        """The id of the key new data keys are wrapped with."""
        raise NotImplementedError

    def get_key(self, key_id: str) -> bytes:  # pragma: no cover - interface
        """The key ``key_id``; ``KeyError`` if the store does not hold it."""
        raise NotImplementedError

    def key_ids(self) -> list[str]:
        """Every key id the store holds, oldest first (default: the current one)."""
        return [self.current_key_id()]

    def add_key(self) -> str:
        """Create a new key, make it current and return its id."""
        raise HubError("this secret store cannot create keys: add a new key version in the "
                       "store itself (see the README)", code="key_store_read_only")

    def use_key(self, key_id: str) -> None:
        """Make an existing key current (roll back a rotation)."""
        raise HubError("this secret store cannot switch keys", code="key_store_read_only")

    def remove_key(self, key_id: str) -> None:
        """Forget a retired key (callers first check that nothing uses it)."""
        raise HubError("this secret store cannot remove keys: remove the key version in the "
                       "store itself", code="key_store_read_only")

    def ensure_key(self) -> None:
        """Create a first key if the store holds none and can make one (default: nothing).

        The hub calls this only when the database holds no encrypted data at all, so a lost
        key store is never silently replaced by a new key while data still needs the old one.
        """

    def location(self) -> str:
        """Where the keys are expected, for error messages (no secrets)."""
        return f"the secret store {type(self).__name__}"


def key_id_for(key: bytes) -> str:
    """A key's public id: a short fingerprint that reveals nothing of the key."""
    return "k1-" + hashlib.sha256(b"zaphub-kek-id" + key).hexdigest()[:16]


def _check_length(key: bytes) -> bytes:
    if len(key) != 32:
        raise HubError("the master key must be 32 bytes, base64 encoded", code="bad_master_key")
    return key


class SingleKeyStore(SecretStore):
    """Keys loaded on first use from a callable (``HUB_MASTER_KEY``); the first is current.

    ``HUB_MASTER_KEY`` may list several comma-separated keys, newest first, so an operator
    can rotate: prepend a new key, restart, run ``hub keys rotate``, then drop the old one.
    """

    def __init__(self, load: Callable[[], bytes | list[bytes]]) -> None:
        self._load = load
        self._keys: dict[str, bytes] | None = None

    def _get(self) -> dict[str, bytes]:
        if self._keys is None:
            loaded = self._load()
            keys = loaded if isinstance(loaded, list) else [loaded]
            self._keys = {key_id_for(_check_length(k)): k for k in keys}
        return self._keys

    def current_key_id(self) -> str:
        return next(iter(self._get()))

    def get_key(self, key_id: str) -> bytes:
        return self._get()[key_id]

    def key_ids(self) -> list[str]:
        return list(reversed(self._get()))

    def location(self) -> str:
        return "HUB_MASTER_KEY"


def _decode(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except ValueError:
        raise HubError("the master key is not valid base64", code="bad_master_key") from None


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically with mode 0600."""
    tmp = path.with_name(path.name + ".tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def load_or_create_key_file(path: Path) -> bytes:
    """Read the key file's current key, or create the file with mode 0600 if it is missing."""
    store = KeyRingStore(path)
    store.ensure_key()
    return store.get_key(store.current_key_id())


class KeyRingStore(SecretStore):
    """A key ring file (mode 0600): one base64 key per line, oldest first, the newest current
    unless a ``current <key id>`` line says otherwise. A one-line file is a ring of one key.

    The file is re-read when it changes, so a running hub sees keys added by ``hub keys``.
    A missing file is an error (``missing_key``); only ``ensure_key`` creates one, and the hub
    calls it only on a database that holds no encrypted data.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: int | None = None
        self._keys: dict[str, bytes] = {}
        self._current: str | None = None

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def location(self) -> str:
        missing = "" if self.path.exists() else " (the file does not exist)"
        return f"the key ring file {self.path}{missing}"

    def ensure_key(self) -> None:
        with self._locked():
            if not self.path.exists():
                _write_private(self.path, base64.b64encode(os.urandom(32)).decode() + "\n")

    def _refresh(self) -> None:
        try:
            stamp = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            raise HubError(
                f"the key ring file {self.path} does not exist. Restore it from backup (or set "
                "HUB_MASTER_KEY); a new key is created only for a database that holds no "
                "encrypted data", code="missing_key", status=500) from None
        if stamp == self._stamp:
            return
        keys, current = {}, None
        for line in self.path.read_text().splitlines():
            line = line.strip()
            if line.startswith("current "):
                current = line.split(None, 1)[1].strip()
            elif line:
                key = _check_length(_decode(line))
                keys[key_id_for(key)] = key
        if not keys:
            raise HubError(f"key file {self.path} holds no key", code="bad_master_key")
        self._keys, self._current, self._stamp = keys, current or list(keys)[-1], stamp

    def _save(self) -> None:
        lines = [base64.b64encode(k).decode() for k in self._keys.values()]
        _write_private(self.path, "\n".join([*lines, f"current {self._current}", ""]))
        self._stamp = None

    def current_key_id(self) -> str:
        self._refresh()
        assert self._current is not None
        return self._current

    def get_key(self, key_id: str) -> bytes:
        if key_id not in self._keys:
            try:
                self._refresh()
            except HubError as exc:
                if exc.code != "missing_key":
                    raise
                raise KeyError(key_id) from None  # no file: the ring holds no key at all
        return self._keys[key_id]

    def key_ids(self) -> list[str]:
        self._refresh()
        return list(self._keys)

    def add_key(self) -> str:
        with self._locked():
            self._refresh()
            key = os.urandom(32)
            self._current = key_id_for(key)
            self._keys[self._current] = key
            self._save()
        return self._current

    def use_key(self, key_id: str) -> None:
        with self._locked():
            self._refresh()
            if key_id not in self._keys:
                raise HubError(f"the key ring holds no key {key_id}", code="key_not_found",
                               status=404)
            self._current = key_id
            self._save()

    def remove_key(self, key_id: str) -> None:
        """Drop a key from the ring (callers check first that nothing uses it)."""
        with self._locked():
            self._refresh()
            if key_id not in self._keys:
                raise HubError(f"the key ring holds no key {key_id}", code="key_not_found",
                               status=404)
            if key_id == self._current:
                raise HubError(f"key {key_id} is current", code="key_in_use", status=409)
            del self._keys[key_id]
            self._save()


@hookimpl(trylast=True)
def secret_store(settings: Settings) -> SecretStore:
    """Built-in: ``HUB_MASTER_KEY`` if set, else the key ring ``<data_dir>/master.key`` (0600)."""
    master = settings.master_key
    if master is not None:
        text = master.get_secret_value()
        return SingleKeyStore(lambda: [_decode(part) for part in text.split(",") if part.strip()])
    return KeyRingStore(settings.data_dir / "master.key")
