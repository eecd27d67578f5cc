"""approvals, approval policies, sealed originals of sensitive AI inputs

Revision ID: 0013
Revises: 0009
Create Date: 2026-11-30 02:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ID = sa.String(length=40)
TS = sa.Float(precision=53)
JSON = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('approval_policies',
    sa.Column('workspace_id', ID, sa.ForeignKey('workspaces.id'), primary_key=True),
    sa.Column('policy', JSON, nullable=False),
    sa.Column('updated_at', TS, nullable=False),
    sa.Column('updated_by', ID),
    )
    op.create_table('approval_requests',
    sa.Column('id', ID, primary_key=True),
    sa.Column('workspace_id', ID, sa.ForeignKey('workspaces.id'), nullable=False),
    sa.Column('run_id', ID, sa.ForeignKey('runs.id'), nullable=False),
    sa.Column('zap_id', ID, sa.ForeignKey('zaps.id'), nullable=False),
    sa.Column('step_id', sa.String(64), nullable=False),
    sa.Column('round', sa.Integer, nullable=False),
    sa.Column('action', sa.String(130), nullable=False),
    sa.Column('status', sa.String(16), nullable=False),
    sa.Column('input', sa.LargeBinary, nullable=False),
    sa.Column('input_hash', sa.String(64), nullable=False),
    sa.Column('context', sa.LargeBinary, nullable=False),
    sa.Column('rules', JSON, nullable=False),
    sa.Column('approvers', JSON, nullable=False),
    sa.Column('min_approvals', sa.Integer, nullable=False),
    sa.Column('on_timeout', sa.String(16), nullable=False),
    sa.Column('created_at', TS, nullable=False),
    sa.Column('expires_at', TS, nullable=False),
    sa.Column('decided_at', TS),
    sa.UniqueConstraint('run_id', 'step_id', 'round', name='uq_approval_step'),
    )
    op.create_index('ix_approvals_workspace', 'approval_requests',
                    ['workspace_id', 'status', 'id'])
    op.create_table('approval_decisions',
    sa.Column('approval_id', ID, sa.ForeignKey('approval_requests.id'), primary_key=True),
    sa.Column('user_id', ID, primary_key=True),
    sa.Column('workspace_id', ID, sa.ForeignKey('workspaces.id'), nullable=False),
    sa.Column('decision', sa.String(16), nullable=False),
    sa.Column('comment', sa.Text, nullable=False, server_default=''),
    sa.Column('input_hash', sa.String(64), nullable=False),
    sa.Column('at', TS, nullable=False),
    )
    op.create_table('sensitive_originals',
    sa.Column('id', ID, primary_key=True),
    sa.Column('workspace_id', ID, sa.ForeignKey('workspaces.id'), nullable=False),
    sa.Column('run_id', ID, sa.ForeignKey('runs.id'), nullable=False),
    sa.Column('step_id', sa.String(64), nullable=False),
    sa.Column('attempt', sa.Integer, nullable=False),
    sa.Column('outcome', sa.String(16), nullable=False),
    sa.Column('data', sa.LargeBinary, nullable=False),
    sa.Column('created_at', TS, nullable=False),
    )
    op.create_index('ix_sensitive_run', 'sensitive_originals', ['workspace_id', 'run_id'])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_sensitive_run', table_name='sensitive_originals')
    op.drop_table('sensitive_originals')
    op.drop_table('approval_decisions')
    op.drop_index('ix_approvals_workspace', table_name='approval_requests')
    op.drop_table('approval_requests')
    op.drop_table('approval_policies')
