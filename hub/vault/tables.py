"""Vault tables: wrapped data keys, connections, per-workspace vault settings.

Every data key the hub uses is a row of ``data_keys`` wrapped by a key-encryption key (KEK)
named by ``kek_id``; rotation re-wraps these rows and never touches the data they protect.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.tables import ID, JSON, TS, metadata

data_keys = sa.Table(
    "data_keys", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("purpose", sa.String(32), nullable=False),
    sa.Column("kek_id", sa.String(128), nullable=False),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Index("ix_data_keys_kek", "kek_id", "id"),
)

connections = sa.Table(
    "connections", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("connector", sa.String(64), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("data_key_id", ID, sa.ForeignKey("data_keys.id"), nullable=False),
    sa.Column("secrets", sa.LargeBinary, nullable=False),
    sa.Column("last_check", JSON),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("policy", JSON),  # who may use it (hub.services.connection_policy); NULL: all
    sa.UniqueConstraint("workspace_id", "name", name="uq_connections_workspace_name"),
)

vault_settings = sa.Table(
    "vault_settings", metadata,
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("encrypt_payloads", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("payload_key_id", ID, sa.ForeignKey("data_keys.id"), nullable=False),
    sa.Column("updated_at", TS, nullable=False),
)
