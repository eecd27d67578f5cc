"""Approval tables: the workspace policy, requests (one per gated step), decisions, and the
sealed originals of AI inputs that guardrails redacted or blocked."""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.tables import ID, JSON, TS, metadata

approval_policies = sa.Table(
    "approval_policies", metadata,
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("policy", JSON, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("updated_by", ID),
)

approval_requests = sa.Table(
    "approval_requests", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("zap_id", ID, sa.ForeignKey("zaps.id"), nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("action", sa.String(130), nullable=False),  # connector.action
    # pending | approved | rejected | expired | cancelled
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input", sa.LargeBinary, nullable=False),  # the rendered input (payload codec)
    sa.Column("input_hash", sa.String(64), nullable=False),
    sa.Column("context", sa.LargeBinary, nullable=False),  # trigger, AI outputs, verdicts
    sa.Column("rules", JSON, nullable=False),  # why approval is needed (step, policy rules)
    sa.Column("approvers", JSON, nullable=False),
    sa.Column("min_approvals", sa.Integer, nullable=False),
    sa.Column("on_timeout", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("decided_at", TS),
    sa.UniqueConstraint("run_id", "step_id", "round", name="uq_approval_step"),
    sa.Index("ix_approvals_workspace", "workspace_id", "status", "id"),
)

approval_decisions = sa.Table(
    "approval_decisions", metadata,
    sa.Column("approval_id", ID, sa.ForeignKey("approval_requests.id"), primary_key=True),
    sa.Column("user_id", ID, primary_key=True),  # one decision per person: N-of-M is distinct
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("decision", sa.String(16), nullable=False),  # approve | reject
    sa.Column("comment", sa.Text, nullable=False, server_default=""),
    sa.Column("input_hash", sa.String(64), nullable=False),
    sa.Column("at", TS, nullable=False),
)

sensitive_originals = sa.Table(
    "sensitive_originals", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("outcome", sa.String(16), nullable=False),  # redacted | blocked
    sa.Column("data", sa.LargeBinary, nullable=False),  # always sealed
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_sensitive_run", "workspace_id", "run_id"),
)
