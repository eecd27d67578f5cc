"""Payload encoding for stored trigger data, step input/output and run results.

One seam for every payload column, so sealing payloads at rest changes this module only.
"""

from __future__ import annotations

import json
from typing import Any

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str).encode
_loads = json.loads


def encode(value: Any) -> bytes:
    """Encode a JSON-like value for storage."""
    return _dumps(value).encode("utf-8")


def decode(blob: bytes | None) -> Any:
    """Decode a stored payload (``None`` stays ``None``)."""
    if blob is None:
        return None
    return _loads(bytes(blob))
