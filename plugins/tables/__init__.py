"""Built-in ``tables`` connector: rows of the workspace's data tables (``tables.insert``,
``tables.upsert``, ``tables.update``, ``tables.find``, ``tables.delete``).

Every action goes through ``StepContext.tables``, which any plugin's action may use too.
"""

from __future__ import annotations

from hub_plugins.tables.actions import Delete, Find, Insert, Update, Upsert

from hub import Connector, hookimpl


class Tables(Connector):
    key = "tables"
    title = "Data tables"
    description = "Store and look up rows in the workspace's own tables, between zaps and AI steps."
    actions = (Insert, Upsert, Update, Find, Delete)


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(Tables)
