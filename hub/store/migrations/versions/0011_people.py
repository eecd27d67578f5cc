"""people: global users with passwords, memberships, sessions, one-time links

Revision ID: 0011
Revises: 0009
Create Date: 2026-11-30 02:20:00.000000

Users were rows of one workspace (``users.workspace_id``, ``users.role``). They become global
(one row per e-mail, compared case-insensitively) with a membership (user, workspace, role)
per workspace. Users of several workspaces sharing an e-mail are merged into the oldest row;
their tokens, memberships and zap versions follow it, so no token stops working.
"""
from typing import Any, Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0011'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = ('0002',)  # connections

ID = sa.String(length=40)
TS = sa.Float(precision=53)
RANK = ("viewer", "approver", "editor", "admin", "owner")


def _create_tables() -> None:
    op.create_table('memberships',
    sa.Column('workspace_id', ID, sa.ForeignKey('workspaces.id'), nullable=False),
    sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.PrimaryKeyConstraint('workspace_id', 'user_id'),
    )
    op.create_index('ix_memberships_user', 'memberships', ['user_id'])
    op.create_table('sessions',
    sa.Column('id', sa.String(length=64), primary_key=True),
    sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=False),
    sa.Column('workspace_id', ID, sa.ForeignKey('workspaces.id'), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    )
    op.create_index('ix_sessions_user', 'sessions', ['user_id'])
    op.create_table('auth_links',
    sa.Column('id', ID, primary_key=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False, unique=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('workspace_id', ID, sa.ForeignKey('workspaces.id'), nullable=True),
    sa.Column('user_id', ID, sa.ForeignKey('users.id'), nullable=True),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=True),
    sa.Column('created_by', ID, nullable=True),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    sa.Column('used_at', TS, nullable=True),
    )
    op.create_table('auth_throttle',
    sa.Column('key', sa.String(length=64), primary_key=True),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('window_start', TS, nullable=False),
    )


def _merge_plan(rows: list[Any]) -> tuple[dict[str, str], dict[tuple[str, str], str]]:
    """``keep[user_id]``: the surviving user of each id; ``roles[(ws, user)]``: the highest
    role a merged user had in each workspace."""
    first: dict[str, str] = {}
    keep: dict[str, str] = {}
    roles: dict[tuple[str, str], str] = {}
    for row in sorted(rows, key=lambda r: (r.created_at, r.id)):
        if row.email.startswith("deleted+") and row.email.endswith("@invalid"):
            keep[row.id] = row.id  # removed by the old code: no membership
            continue
        survivor = first.setdefault(row.email.strip().lower(), row.id)
        keep[row.id] = survivor
        key = (row.workspace_id, survivor)
        role = row.role if row.role in RANK else "viewer"
        if key not in roles or RANK.index(role) > RANK.index(roles[key]):
            roles[key] = role
    return keep, roles


def _move_users() -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT id, workspace_id, email, role, created_at FROM users")).all()
    keep, roles = _merge_plan(rows)
    created = {r.id: r.created_at for r in rows}
    for (ws, user), role in roles.items():
        bind.execute(sa.text("INSERT INTO memberships (workspace_id, user_id, role, created_at) "
                             "VALUES (:ws, :user, :role, :at)"),
                     {"ws": ws, "user": user, "role": role, "at": created[user]})
    for old, new in keep.items():
        if old == new:
            continue
        for table, column in (("api_tokens", "user_id"), ("zap_versions", "created_by")):
            bind.execute(sa.text(f"UPDATE {table} SET {column} = :new WHERE {column} = :old"),
                         {"new": new, "old": old})
        bind.execute(sa.text("DELETE FROM users WHERE id = :old"), {"old": old})
    for user in set(keep.values()):
        bind.execute(sa.text("UPDATE users SET email = lower(trim(email)) WHERE id = :id"),
                     {"id": user})


def upgrade() -> None:
    """Upgrade schema."""
    # on SQLite ``users`` is rebuilt (copied, dropped, renamed): hub.store.db migrates with
    # foreign keys off there and checks them all before committing
    _create_tables()
    _move_users()
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('uq_users_workspace_email', type_='unique')
        batch_op.drop_column('role')
        batch_op.drop_column('workspace_id')
        batch_op.add_column(sa.Column('password_hash', sa.String(length=256), nullable=True))
        batch_op.add_column(sa.Column('password_changed_at', TS, nullable=True))
        batch_op.create_index('uq_users_email', ['email'], unique=True)
    op.add_column('api_tokens', sa.Column('scope', sa.JSON(), nullable=True))
    op.add_column('runs', sa.Column('started_by', ID, nullable=True))
    op.add_column('connections', sa.Column('policy', sa.JSON(), nullable=True))


def downgrade() -> None:
    """Downgrade schema (memberships beyond one per user are lost)."""
    raise NotImplementedError("0011 moves users into memberships; restore a backup instead")
