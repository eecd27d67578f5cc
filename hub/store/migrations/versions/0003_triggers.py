"""triggers: webhook hooks, trigger events (dedupe), trigger state

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-25 13:40:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('webhook_hooks',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('zap_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.Float(precision=53), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.ForeignKeyConstraint(['zap_id'], ['zaps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('zap_id')
    )
    op.create_table('trigger_events',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('zap_id', sa.String(length=40), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('dedupe_key', sa.String(length=256), nullable=True),
    sa.Column('run_id', sa.String(length=40), nullable=True),
    sa.Column('created_at', sa.Float(precision=53), nullable=False),
    sa.Column('expires_at', sa.Float(precision=53), nullable=True),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.ForeignKeyConstraint(['zap_id'], ['zaps.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('zap_id', 'dedupe_key', name='uq_trigger_events_dedupe')
    )
    with op.batch_alter_table('trigger_events', schema=None) as batch_op:
        batch_op.create_index('ix_trigger_events_expires', ['expires_at'], unique=False)

    op.create_table('trigger_state',
    sa.Column('zap_id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('last_fire', sa.Float(precision=53), nullable=True),
    sa.Column('cursor', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('updated_at', sa.Float(precision=53), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.ForeignKeyConstraint(['zap_id'], ['zaps.id'], ),
    sa.PrimaryKeyConstraint('zap_id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('trigger_state')
    with op.batch_alter_table('trigger_events', schema=None) as batch_op:
        batch_op.drop_index('ix_trigger_events_expires')

    op.drop_table('trigger_events')
    op.drop_table('webhook_hooks')
