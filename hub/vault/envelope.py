"""Envelope encryption primitives (AES-256-GCM), with no I/O.

A data key (32 random bytes) encrypts one record or one workspace's payloads; a key-encryption
key (KEK) from the secret store wraps the data key. Formats (all integers big-endian):

- wrapped data key: ``0x01 | len(kek_id) (1 byte) | kek_id | nonce (12) | AES-GCM(dek) + tag``
- sealed value: ``0x01 | nonce (12) | AES-GCM(plaintext) + tag``

The associated data (AAD) binds each ciphertext to its workspace, row and purpose, so a
ciphertext copied to another row or workspace fails to decrypt instead of yielding plaintext.
"""

from __future__ import annotations

import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import HubError

VERSION = 1
NONCE = 12


class DecryptionFailed(HubError):
    """A ciphertext failed authentication: it was altered, moved to another row, or is corrupt."""

    code = "decryption_failed"
    status = 409
    title = "Decryption failed"


def aad(*parts: str) -> bytes:
    """Associated data from its parts (NUL separated, so parts cannot run into each other)."""
    return "\0".join(("zaphub", f"v{VERSION}", *parts)).encode()


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes | AESGCM, plaintext: bytes, associated: bytes) -> bytes:
    """Encrypt ``plaintext`` under ``key`` with a fresh random 96-bit nonce."""
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    nonce = os.urandom(NONCE)
    return bytes([VERSION]) + nonce + cipher.encrypt(nonce, plaintext, associated)


def open_sealed(key: bytes | AESGCM, blob: bytes, associated: bytes, what: str) -> bytes:
    """Decrypt a ``seal`` output; any change to it or to ``associated`` raises."""
    blob = bytes(blob)
    if len(blob) < 1 + NONCE + 16 or blob[0] != VERSION:
        raise DecryptionFailed(f"{what}: unknown ciphertext format")
    cipher = key if isinstance(key, AESGCM) else AESGCM(key)
    try:
        return cipher.decrypt(blob[1:1 + NONCE], blob[1 + NONCE:], associated)
    except InvalidTag:
        raise DecryptionFailed(f"{what}: ciphertext does not authenticate (altered, corrupt "
                               "or copied from another record)") from None


def wrap(kek: bytes, kek_id: str, dek: bytes, associated: bytes) -> bytes:
    """Wrap a data key under a KEK; the result names the KEK id."""
    kid = kek_id.encode()
    if not 0 < len(kid) < 256:
        raise HubError("a key id must be 1 to 255 bytes", code="bad_key_id")
    return bytes([VERSION, len(kid)]) + kid + seal(kek, dek, associated + b"\0" + kid)[1:]


def wrapped_kek_id(blob: bytes, what: str = "data key") -> str:
    """The KEK id a wrapped data key names."""
    blob = bytes(blob)
    if len(blob) < 2 or blob[0] != VERSION or len(blob) < 2 + blob[1]:
        raise DecryptionFailed(f"{what}: unknown wrapping format")
    return blob[2:2 + blob[1]].decode(errors="replace")


def unwrap(kek: bytes, blob: bytes, associated: bytes, what: str = "data key") -> bytes:
    """Unwrap a data key (the KEK id inside the blob is authenticated too)."""
    blob = bytes(blob)
    kek_id = wrapped_kek_id(blob, what)
    body = bytes([VERSION]) + blob[2 + blob[1]:]
    return open_sealed(kek, body, associated + b"\0" + kek_id.encode(), what)

