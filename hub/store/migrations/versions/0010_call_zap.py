"""runs started by a core.call_zap step: parent run and call key

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30 02:30:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('runs') as batch_op:
        batch_op.add_column(sa.Column('parent_run_id', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('call_key', sa.String(length=160), nullable=True))
        batch_op.create_index('ix_runs_parent', ['parent_run_id'], unique=False)
        batch_op.create_index('uq_runs_call_key', ['call_key'], unique=True)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('runs') as batch_op:
        batch_op.drop_index('uq_runs_call_key')
        batch_op.drop_index('ix_runs_parent')
        batch_op.drop_column('call_key')
        batch_op.drop_column('parent_run_id')
