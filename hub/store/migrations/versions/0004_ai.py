"""ai: model entries, routing policies, workspace AI settings, usage

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-25 13:50:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
TS = sa.Float(precision=53)


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('ai_models',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('config', JSON, nullable=False),
    sa.Column('connection', sa.String(length=200), nullable=True),
    sa.Column('tags', JSON, nullable=False),
    sa.Column('capabilities', JSON, nullable=True),
    sa.Column('price_input', sa.Float(precision=53), nullable=True),
    sa.Column('price_output', sa.Float(precision=53), nullable=True),
    sa.Column('timeout', TS, nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_ai_models_workspace_name')
    )
    op.create_table('ai_policies',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('definition', JSON, nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_ai_policies_workspace_name')
    )
    op.create_table('ai_settings',
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('guardrails', JSON, nullable=False),
    sa.Column('budgets', JSON, nullable=False),
    sa.Column('allow_direct_models', sa.Boolean(), nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.Column('updated_by', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('workspace_id')
    )
    _usage_table()


def _usage_table() -> None:
    op.create_table('ai_usage',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('run_id', sa.String(length=40), nullable=False),
    sa.Column('zap_id', sa.String(length=40), nullable=False),
    sa.Column('step_id', sa.String(length=64), nullable=False),
    sa.Column('model', sa.String(length=100), nullable=False),
    sa.Column('provider', sa.String(length=64), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=False),
    sa.Column('input_tokens', sa.Integer(), nullable=False),
    sa.Column('output_tokens', sa.Integer(), nullable=False),
    sa.Column('cost', sa.Float(precision=53), nullable=False),
    sa.Column('latency_ms', sa.Float(precision=53), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ai_usage', schema=None) as batch_op:
        batch_op.create_index('ix_ai_usage_workspace_day', ['workspace_id', 'day'], unique=False)
        batch_op.create_index('ix_ai_usage_zap_day', ['zap_id', 'day'], unique=False)
        batch_op.create_index('ix_ai_usage_run', ['run_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('ai_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_ai_usage_run')
        batch_op.drop_index('ix_ai_usage_zap_day')
        batch_op.drop_index('ix_ai_usage_workspace_day')
    op.drop_table('ai_usage')
    op.drop_table('ai_settings')
    op.drop_table('ai_policies')
    op.drop_table('ai_models')
