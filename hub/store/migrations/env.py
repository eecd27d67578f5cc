"""Alembic environment: runs on the connection handed over by ``hub.store.db``."""

from __future__ import annotations

from alembic import context

from hub.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only through hub.store.db.Database.migrate
    raise RuntimeError("run migrations with `hub db upgrade` (they need the hub's connection)")

context.configure(connection=connection, target_metadata=metadata,
                  render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
