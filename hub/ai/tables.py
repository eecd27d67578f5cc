"""Tables of the AI part: model entries, routing policies, workspace AI settings, usage."""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.tables import ID, JSON, TS, metadata

ai_models = sa.Table(
    "ai_models", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("config", JSON, nullable=False),
    sa.Column("connection", sa.String(200)),
    sa.Column("tags", JSON, nullable=False),
    sa.Column("capabilities", JSON),
    sa.Column("price_input", sa.Float(precision=53)),
    sa.Column("price_output", sa.Float(precision=53)),
    sa.Column("timeout", sa.Float(precision=53), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.UniqueConstraint("workspace_id", "name", name="uq_ai_models_workspace_name"),
)

ai_policies = sa.Table(
    "ai_policies", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("definition", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.UniqueConstraint("workspace_id", "name", name="uq_ai_policies_workspace_name"),
)

ai_settings = sa.Table(
    "ai_settings", metadata,
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("guardrails", JSON, nullable=False),
    sa.Column("budgets", JSON, nullable=False),
    sa.Column("allow_direct_models", sa.Boolean, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", ID),
)

ai_usage = sa.Table(
    "ai_usage", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("run_id", ID, nullable=False),
    sa.Column("zap_id", ID, nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("model", sa.String(100), nullable=False),
    sa.Column("provider", sa.String(64), nullable=False),
    sa.Column("outcome", sa.String(32), nullable=False),
    sa.Column("input_tokens", sa.Integer, nullable=False),
    sa.Column("output_tokens", sa.Integer, nullable=False),
    sa.Column("cost", sa.Float(precision=53), nullable=False),
    sa.Column("latency_ms", sa.Float(precision=53), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("day", sa.String(10), nullable=False),
    sa.Column("month", sa.String(7), nullable=False),
    sa.Index("ix_ai_usage_workspace_day", "workspace_id", "day"),
    sa.Index("ix_ai_usage_zap_day", "zap_id", "day"),
    sa.Index("ix_ai_usage_run", "run_id"),
)
