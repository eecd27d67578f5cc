"""audit trail

Revision ID: 0009
Revises: 0001
Create Date: 2026-11-29 23:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.String(length=40)
TS = sa.Float(precision=53)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('audit_log',
    sa.Column('workspace_id', ID, nullable=False),
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('at', TS, nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('actor_type', sa.String(length=16), nullable=False),
    sa.Column('actor_id', sa.String(length=64), nullable=True),
    sa.Column('actor_token', sa.String(length=64), nullable=True),
    sa.Column('target_type', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.String(length=128), nullable=True),
    sa.Column('run_id', ID, nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('workspace_id', 'seq')
    )
    op.create_index('ix_audit_action', 'audit_log', ['workspace_id', 'action', 'seq'])
    op.create_index('ix_audit_run', 'audit_log', ['workspace_id', 'run_id'])
    op.create_index('ix_audit_at', 'audit_log', ['workspace_id', 'at'])
    op.create_table('audit_heads',
    sa.Column('workspace_id', ID, nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('workspace_id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('audit_heads')
    op.drop_index('ix_audit_at', table_name='audit_log')
    op.drop_index('ix_audit_run', table_name='audit_log')
    op.drop_index('ix_audit_action', table_name='audit_log')
    op.drop_table('audit_log')
