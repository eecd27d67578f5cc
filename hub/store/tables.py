"""Table definitions (SQLAlchemy Core). Alembic migrations create them; keep both in step.

Times are UNIX seconds (double precision) so SQLite and PostgreSQL compare them alike.
Payload columns (trigger data, step input/output, run result) are bytes written by
``hub.store.codec`` so they can be sealed at rest without a schema change.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()

ID = sa.String(40)
TS = sa.Float(precision=53)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")

workspaces = sa.Table(
    "workspaces", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("created_at", TS, nullable=False),
)

# People are global (the e-mail, stored lower-case, is the login); ``memberships`` gives each
# a role per workspace. ``password_hash`` is argon2id; NULL until a password is set.
users = sa.Table(
    "users", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("name", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("password_hash", sa.String(256)),
    sa.Column("password_changed_at", TS),
    sa.Index("uq_users_email", "email", unique=True),
)

memberships = sa.Table(
    "memberships", metadata,
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Index("ix_memberships_user", "user_id"),
)

# Browser sessions: ``id`` is the SHA-256 of the cookie's value (the value is never stored).
sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Index("ix_sessions_user", "user_id"),
)

# Single-use, expiring links (setup, invitation, password reset): only the hash is stored.
auth_links = sa.Table(
    "auth_links", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id")),
    sa.Column("user_id", ID, sa.ForeignKey("users.id")),
    sa.Column("email", sa.String(320)),
    sa.Column("role", sa.String(16)),
    sa.Column("created_by", ID),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
    sa.Column("used_at", TS),
)

# Failed sign-ins per (e-mail, address) key, for throttling.
auth_throttle = sa.Table(
    "auth_throttle", metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("window_start", TS, nullable=False),
)

api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("user_id", ID, sa.ForeignKey("users.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("last_used_at", TS),
    sa.Column("expires_at", TS),
    sa.Column("revoked_at", TS),
    # ``{"read_only": bool, "zaps": [zap ids]}``; NULL: the user's full role
    sa.Column("scope", JSON),
)

zaps = sa.Table(
    "zaps", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("enabled", sa.Boolean, nullable=False),
    sa.Column("current_version", sa.Integer, nullable=False),
    sa.Column("trigger_kind", sa.String(64), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.Column("deleted_at", TS),
    sa.Index("uq_zaps_live_name", "workspace_id", "name", unique=True,
             sqlite_where=sa.text("deleted_at IS NULL"),
             postgresql_where=sa.text("deleted_at IS NULL")),
)

zap_versions = sa.Table(
    "zap_versions", metadata,
    sa.Column("zap_id", ID, sa.ForeignKey("zaps.id"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("definition", JSON, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("created_by", ID),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("zap_id", ID, sa.ForeignKey("zaps.id"), nullable=False),
    sa.Column("zap_version", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("trigger_data", sa.LargeBinary, nullable=False),
    sa.Column("result", sa.LargeBinary),
    sa.Column("error", JSON),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("started_at", TS),
    sa.Column("finished_at", TS),
    # the queue: claimable when status is queued and due_at has passed, or when status is
    # running and due_at (the lease's end) has passed because its worker died.
    sa.Column("due_at", TS, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    # the lease generation (fencing token): +1 per claim; writes of an older claim are refused
    sa.Column("claims", sa.Integer, nullable=False, server_default="0"),
    # claims since the last committed step: a run that kills or hangs every worker that
    # claims it fails after HUB_MAX_RUN_CLAIMS of them instead of looping forever
    sa.Column("stalled_claims", sa.Integer, nullable=False, server_default="0"),
    sa.Column("round", sa.Integer, nullable=False, server_default="0"),
    sa.Column("cancel_requested", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("started_by", ID),  # the user the run acts for
    sa.Index("ix_runs_queue", "status", "due_at"),
    sa.Index("ix_runs_workspace_id", "workspace_id", "id"),
    sa.Index("ix_runs_zap", "zap_id", "id"),
)

run_steps = sa.Table(
    "run_steps", metadata,
    sa.Column("run_id", ID, sa.ForeignKey("runs.id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("step_id", sa.String(64), nullable=False),
    sa.Column("step_index", sa.Integer, nullable=False),
    sa.Column("round", sa.Integer, nullable=False),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("input", sa.LargeBinary),
    sa.Column("output", sa.LargeBinary),
    sa.Column("error", JSON),
    sa.Column("started_at", TS, nullable=False),
    sa.Column("finished_at", TS, nullable=False),
    sa.Column("idempotency_key", sa.String(128), nullable=False),
)

# A completed step is never executed twice: at most one succeeded row per (run, step).
sa.Index("uq_run_steps_done", run_steps.c.run_id, run_steps.c.step_id, unique=True,
         sqlite_where=sa.text("status = 'succeeded'"),
         postgresql_where=sa.text("status = 'succeeded'"))
