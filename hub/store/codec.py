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


class PayloadCodec:
    """How the hub stores payloads (trigger data, step input/output, run results).

    Call ``await prepare(workspace_id)`` once before ``encode``/``decode`` for a workspace (it
    may load keys); then both are synchronous and cheap. This default stores plain JSON; a
    sealing codec (encryption at rest) replaces it on ``Hub.payloads`` without any other change.
    """

    async def prepare(self, workspace_id: str) -> None:
        """Load whatever ``encode``/``decode`` need for ``workspace_id``."""

    def encode(self, workspace_id: str, value: Any) -> bytes:
        return encode(value)

    def decode(self, workspace_id: str, blob: bytes | None) -> Any:
        return decode(blob)
