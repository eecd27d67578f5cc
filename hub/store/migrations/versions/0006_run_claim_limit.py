"""runs: claims since the last committed step (poison runs end instead of looping)

Revision ID: 0006
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision: str = '0006'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('runs') as batch_op:
        batch_op.add_column(sa.Column('stalled_claims', sa.Integer(), server_default='0',
                                      nullable=False))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('runs') as batch_op:
        batch_op.drop_column('stalled_claims')
