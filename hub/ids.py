"""Sortable random identifiers: a prefix, 48 bits of milliseconds, 80 random bits.

Ids sort by creation time, which gives cursor pagination for free.
"""

from __future__ import annotations

import os
import re
import time

_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford base32, lower case
_PATTERN = re.compile(r"^[a-z]{2,5}_[0-9a-hjkmnp-tv-z]{26}$")


def _b32(value: int, length: int) -> str:
    out = []
    for _ in range(length):
        out.append(_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(out))


def id_floor(prefix: str, at: float) -> str:
    """The smallest id ``new_id(prefix)`` can return at time ``at`` (for time filters)."""
    return f"{prefix}_{_b32(max(int(at * 1000), 0), 10)}{'0' * 16}"


def new_id(prefix: str) -> str:
    """Return ``<prefix>_<26 chars>``, time-ordered and unguessable (80 random bits)."""
    ms = int(time.time() * 1000)
    rand = int.from_bytes(os.urandom(10), "big")
    return f"{prefix}_{_b32(ms, 10)}{_b32(rand, 16)}"


def looks_like_id(value: str, prefix: str | None = None) -> bool:
    """True when ``value`` has the shape of an id (optionally with ``prefix``)."""
    if not _PATTERN.match(value):
        return False
    return prefix is None or value.startswith(prefix + "_")
