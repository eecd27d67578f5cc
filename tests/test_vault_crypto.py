"""Envelope encryption and the key ring, without a database."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest

from hub.errors import HubError
from hub.secrets import KeyRingStore, SingleKeyStore, key_id_for
from hub.settings import Settings
from hub.vault import envelope
from hub.vault.envelope import DecryptionFailed

KEK, DEK = os.urandom(32), os.urandom(32)
AAD = envelope.aad("connection", "ws_1", "con_1", "credentials")


def test_seal_round_trip_and_fresh_nonces() -> None:
    one, two = envelope.seal(DEK, b"hello", AAD), envelope.seal(DEK, b"hello", AAD)
    assert one != two and one[0] == envelope.VERSION and b"hello" not in one
    assert envelope.open_sealed(DEK, one, AAD, "t") == b"hello"


def test_every_flipped_byte_fails() -> None:
    blob = envelope.seal(DEK, b'{"api_key":"s3cret"}', AAD)
    for i in range(len(blob)):
        bad = bytearray(blob)
        bad[i] ^= 0x01
        with pytest.raises(DecryptionFailed) as exc:
            envelope.open_sealed(DEK, bytes(bad), AAD, "connection")
        assert exc.value.code == "decryption_failed"
    with pytest.raises(DecryptionFailed):
        envelope.open_sealed(DEK, blob[:-1], AAD, "connection")


def test_aad_binds_workspace_row_and_purpose() -> None:
    blob = envelope.seal(DEK, b"x", AAD)
    for other in (envelope.aad("connection", "ws_2", "con_1", "credentials"),
                  envelope.aad("connection", "ws_1", "con_2", "credentials"),
                  envelope.aad("payload", "ws_1", "con_1", "credentials")):
        with pytest.raises(DecryptionFailed):
            envelope.open_sealed(DEK, blob, other, "t")


def test_wrapped_key_names_its_kek_and_binds_it() -> None:
    wrapped = envelope.wrap(KEK, "k1-abc", DEK, AAD)
    assert envelope.wrapped_kek_id(wrapped) == "k1-abc" and DEK not in wrapped
    assert envelope.unwrap(KEK, wrapped, AAD) == DEK
    renamed = wrapped.replace(b"k1-abc", b"k1-abd")
    with pytest.raises(DecryptionFailed):
        envelope.unwrap(KEK, renamed, AAD)
    with pytest.raises(DecryptionFailed):
        envelope.unwrap(os.urandom(32), wrapped, AAD)
    with pytest.raises(DecryptionFailed):
        envelope.wrapped_kek_id(b"\x02junk")


def test_key_ring_add_use_remove(tmp_path: Path) -> None:
    path = tmp_path / "data" / "master.key"
    ring = KeyRingStore(path)
    with pytest.raises(HubError) as missing:  # never created behind the caller's back
        ring.current_key_id()
    assert missing.value.code == "missing_key" and str(path) in missing.value.message
    with pytest.raises(KeyError):
        ring.get_key("k1-any")
    assert not path.exists() and "does not exist" in ring.location()
    ring.ensure_key()
    first = ring.current_key_id()
    ring.ensure_key()  # idempotent: an existing ring is kept
    assert ring.current_key_id() == first
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    second = ring.add_key()
    assert second != first and ring.current_key_id() == second
    assert ring.key_ids() == [first, second]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    other = KeyRingStore(path)  # another process sees the same ring
    assert other.current_key_id() == second and other.get_key(first) == ring.get_key(first)
    other.use_key(first)
    assert ring.current_key_id() == first  # re-read after the file changed
    with pytest.raises(HubError) as exc:
        ring.remove_key(first)
    assert exc.value.code == "key_in_use"
    ring.remove_key(second)
    assert KeyRingStore(path).key_ids() == [first]
    with pytest.raises(KeyError):
        ring.get_key(second)
    with pytest.raises(HubError):
        ring.use_key("k1-nope")


def test_key_ring_reads_a_legacy_one_line_file(tmp_path: Path) -> None:
    key = os.urandom(32)
    (tmp_path / "master.key").write_text(base64.b64encode(key).decode() + "\n")
    ring = KeyRingStore(tmp_path / "master.key")
    assert ring.current_key_id() == key_id_for(key) and ring.get_key(key_id_for(key)) == key


def test_master_key_list_newest_first(tmp_path: Path) -> None:
    new, old = os.urandom(32), os.urandom(32)
    text = ",".join(base64.b64encode(k).decode() for k in (new, old))
    from hub.secrets import secret_store

    store = secret_store(settings=Settings(data_dir=tmp_path, master_key=text))
    assert isinstance(store, SingleKeyStore)
    assert store.current_key_id() == key_id_for(new)
    assert store.get_key(key_id_for(old)) == old
    assert store.key_ids() == [key_id_for(old), key_id_for(new)]
    with pytest.raises(HubError) as exc:
        store.add_key()
    assert exc.value.code == "key_store_read_only"
