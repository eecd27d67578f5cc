"""What the table services work with: the database, the payload codec, index keys, limits.

The services take this narrow ``Store`` instead of the whole hub, so a test (or another
process) can build one from its parts.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from hub.tables.schema import Column, Table
from hub.tables.values import normalised

if TYPE_CHECKING:
    from hub.store.codec import PayloadCodec
    from hub.store.db import Database

MIB = 1_048_576


@dataclass(frozen=True)
class Limits:
    """Bounds on everything an input can make a table operation do."""

    max_tables: int = 100
    max_columns: int = 50
    max_rows: int = 50_000
    max_value_bytes: int = 16_384
    max_row_bytes: int = 65_536
    scan_rows: int = 5_000
    scan_bytes: int = 16 * MIB
    page_max: int = 500
    max_conditions: int = 10
    csv_max_bytes: int = 10 * MIB

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """Read ``tables_<name>`` settings (``HUB_TABLES_<NAME>``), defaults where absent."""
        names = cls.__dataclass_fields__
        return cls(**{n: getattr(settings, f"tables_{n}") for n in names
                      if hasattr(settings, f"tables_{n}")})


class KeyRing(Protocol):
    """Per-table blind-index keys, kept as vault data keys (wrapped by the KEK)."""

    async def create(self, conn: Any, workspace_id: str) -> tuple[str, bytes]:
        """Store a new key inside ``conn``'s transaction; return its id and bytes."""
        ...

    async def load(self, conn: Any, key_id: str, workspace_id: str) -> bytes:
        """The key ``key_id`` of ``workspace_id``."""
        ...


@dataclass(frozen=True)
class Store:
    db: Database
    codec: PayloadCodec
    keys: KeyRing
    limits: Limits


class Indexer:
    """Blind-index tokens of one table: HMAC-SHA256(table key, column id + normalised value)."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def token(self, column: Column, value: Any) -> str:
        message = f"{column.id}\0{normalised(column.type, value)}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


async def indexer(store: Store, conn: Any, table: Table) -> Indexer:
    return Indexer(await store.keys.load(conn, table.index_key_id, table.workspace_id))
