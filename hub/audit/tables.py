"""Audit trail tables: one append-only, hash-chained log per workspace and its head."""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.tables import ID, TS, metadata

audit_log = sa.Table(
    "audit_log", metadata,
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", TS, nullable=False),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("actor_type", sa.String(16), nullable=False),
    sa.Column("actor_id", sa.String(64)),
    sa.Column("actor_token", sa.String(64)),
    sa.Column("target_type", sa.String(32)),
    sa.Column("target_id", sa.String(128)),
    sa.Column("run_id", ID),
    # the canonical JSON text of the whole record: what the hash covers
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.Index("ix_audit_action", "workspace_id", "action", "seq"),
    sa.Index("ix_audit_run", "workspace_id", "run_id"),
    sa.Index("ix_audit_at", "workspace_id", "at"),
)

# The chain's head per workspace: appending locks this row (PostgreSQL) so concurrent
# transactions chain one after the other; `verify` compares the last record with it.
audit_heads = sa.Table(
    "audit_heads", metadata,
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
)
