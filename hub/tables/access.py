"""``StepContext.tables``: the run's workspace's data tables, for actions.

The built-in ``tables.*`` actions use it, and so may any plugin's action: ``ctx.tables`` is
bound to the run's workspace and cannot reach another one. Errors are ``hub.StepError``
with the tables' stable codes (``invalid_row``, ``duplicate_key``, ``row_not_found``,
``table_not_found``, ``invalid_filter``, ``filter_too_broad`` ...), never retryable: the same
input would fail the same way.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from hub.errors import HubError, StepError
from hub.tables import query, rows
from hub.tables.backend import Limits, Store
from hub.tables.errors import RowNotFound
from hub.vault import keys

if TYPE_CHECKING:
    from hub.context import Hub

PURPOSE = "table_index"


class TablesAccess(Protocol):
    """Rows of the workspace's tables. Rows come back as ``{key, values, created_at,
    updated_at}`` with ``values`` by column name. Each call is one transaction."""

    async def insert(self, table: str, values: dict[str, Any], *,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        """Add a row (``duplicate_key`` if its key exists). Pass ``ctx.idempotency_key`` so a
        retried step returns the row it already inserted (one row per key: derive one per
        row, e.g. ``f"{ctx.idempotency_key}:{n}"``, when a step inserts several)."""
        ...

    async def upsert(self, table: str, values: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Insert, or update the given columns of the row with the same key; ``(row, created)``."""
        ...

    async def update(self, table: str, values: dict[str, Any]) -> dict[str, Any]:
        """Update the given columns of the row whose key is in ``values`` (``row_not_found``)."""
        ...

    async def get(self, table: str, key: Any) -> dict[str, Any] | None:
        """The row with this key, or ``None``."""
        ...

    async def find(self, table: str, *, where: dict[str, Any] | None = None,
                   order_by: str = "_created_at", descending: bool = False,
                   limit: int = 100) -> list[dict[str, Any]]:
        """Rows matching ``where`` (see the README's filter syntax), at most ``limit``."""
        ...

    async def delete(self, table: str, *, where: dict[str, Any], limit: int = 100) -> int:
        """Delete up to ``limit`` rows matching ``where`` (not empty); return how many."""
        ...


class VaultKeyRing:
    """Blind-index keys as vault data keys (purpose ``table_index``), wrapped by the KEK."""

    def __init__(self, hub: Hub) -> None:
        self._hub = hub

    async def create(self, conn: Any, workspace_id: str) -> tuple[str, bytes]:
        return await keys.create(conn, self._hub, workspace_id, PURPOSE)

    async def load(self, conn: Any, key_id: str, workspace_id: str) -> bytes:
        return await keys.load(conn, self._hub, key_id, workspace_id, PURPOSE)


def store_for(hub: Hub) -> Store:
    """The table services' view of a hub: its database, payload codec, keys and limits."""
    return Store(hub.db, hub.payloads, VaultKeyRing(hub), Limits.from_settings(hub.settings))


@contextmanager
def _step_errors() -> Iterator[None]:
    try:
        yield
    except StepError:
        raise
    except HubError as exc:
        raise StepError(exc.message, code=exc.code, retryable=False, extra=exc.extra) from None


class WorkspaceTables:
    """``TablesAccess`` for one workspace."""

    def __init__(self, store: Store, workspace_id: str) -> None:
        self._store, self._ws = store, workspace_id

    def _args(self, table: str) -> dict[str, Any]:
        return {"workspace_id": self._ws, "name": table}

    async def insert(self, table: str, values: dict[str, Any], *,
                     idempotency_key: str | None = None) -> dict[str, Any]:
        with _step_errors():
            return await rows.insert(self._store, values=values, **self._args(table),
                                     idempotency_key=idempotency_key)

    async def upsert(self, table: str, values: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        with _step_errors():
            return await rows.upsert(self._store, values=values, **self._args(table))

    async def update(self, table: str, values: dict[str, Any]) -> dict[str, Any]:
        with _step_errors():
            return await rows.update(self._store, values=values, **self._args(table))

    async def get(self, table: str, key: Any) -> dict[str, Any] | None:
        with _step_errors():
            try:
                return await query.get(self._store, key=key, **self._args(table))
            except RowNotFound:
                return None

    async def find(self, table: str, *, where: dict[str, Any] | None = None,
                   order_by: str = "_created_at", descending: bool = False,
                   limit: int = 100) -> list[dict[str, Any]]:
        with _step_errors():
            read = query.Read(where=where, order_by=order_by, descending=descending,
                              limit=limit)
            return await query.find(self._store, read=read, **self._args(table))

    async def delete(self, table: str, *, where: dict[str, Any], limit: int = 100) -> int:
        with _step_errors():
            return await rows.delete_where(self._store, where=where, limit=limit,
                                           **self._args(table))


def step_tables(hub: Hub, workspace_id: str) -> TablesAccess:
    """The ``tables`` attribute of a step's ``StepContext``."""
    return WorkspaceTables(store_for(hub), workspace_id)
