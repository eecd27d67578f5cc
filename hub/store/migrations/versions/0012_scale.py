"""scale-out: the per-workspace queue index (fair claiming), shared hook rate limits

Revision ID: 0012
Revises: 0009
Create Date: 2026-11-30 02:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

DUE = sa.text("status IN ('queued', 'running', 'waiting')")


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.create_index('ix_runs_due', ['workspace_id', 'due_at'], unique=False,
                              sqlite_where=DUE, postgresql_where=DUE)
    op.create_table('hook_rate_limits',
    sa.Column('hook_id', sa.String(length=64), nullable=False),
    sa.Column('tokens', sa.Float(precision=53), nullable=False),
    sa.Column('stamp', sa.Float(precision=53), nullable=False),
    sa.Column('passed', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('hook_id')
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('hook_rate_limits')
    with op.batch_alter_table('runs', schema=None) as batch_op:
        batch_op.drop_index('ix_runs_due')
