"""Tables of the trigger intake: webhook hooks, trigger events (dedupe), trigger state.

A trigger event row is written in the same transaction as the run it starts. Its
``(zap_id, dedupe_key)`` pair is unique, so a repeated delivery, a schedule fire seen by two
processes or a polled item seen twice can never start a second run.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.tables import ID, JSON, TS, metadata

webhook_hooks = sa.Table(
    "webhook_hooks", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("zap_id", ID, sa.ForeignKey("zaps.id"), nullable=False, unique=True),
    sa.Column("created_at", TS, nullable=False),
)

trigger_events = sa.Table(
    "trigger_events", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("zap_id", ID, sa.ForeignKey("zaps.id"), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("dedupe_key", sa.String(256)),
    sa.Column("run_id", ID),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS),
    sa.UniqueConstraint("zap_id", "dedupe_key", name="uq_trigger_events_dedupe"),
    sa.Index("ix_trigger_events_expires", "expires_at"),
)

trigger_state = sa.Table(
    "trigger_state", metadata,
    sa.Column("zap_id", ID, sa.ForeignKey("zaps.id"), primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("last_fire", TS),
    sa.Column("cursor", JSON),
    sa.Column("updated_at", TS, nullable=False),
)

# One token bucket per rate-limited hook, shared by every node on PostgreSQL
# (``hub.intake.ratelimit``); SQLite, a single node, keeps its buckets in memory.
hook_rate_limits = sa.Table(
    "hook_rate_limits", metadata,
    sa.Column("hook_id", sa.String(64), primary_key=True),
    sa.Column("tokens", sa.Float(precision=53), nullable=False),
    sa.Column("stamp", TS, nullable=False),
    sa.Column("passed", sa.Boolean, nullable=False),
)
