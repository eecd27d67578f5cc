"""workspace data tables: definitions, sealed rows, blind index

Revision ID: 0007
Revises: 0001
Create Date: 2026-12-02 10:00:00.000000

"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision: str = '0007'
down_revision: Union[str, Sequence[str], None] = '0001'
branch_labels: Union[str, Sequence[str], None] = None
# the tables point at data_keys (the vault's revision): create them after it
depends_on: Union[str, Sequence[str], None] = '0002'


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('datatables',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('description', sa.String(length=1000), server_default='', nullable=False),
    sa.Column('key_column', sa.String(length=16), nullable=False),
    sa.Column('columns', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('next_column', sa.Integer(), nullable=False),
    sa.Column('row_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('index_key_id', sa.String(length=40), nullable=False),
    sa.Column('created_at', sa.Float(precision=53), nullable=False),
    sa.Column('updated_at', sa.Float(precision=53), nullable=False),
    sa.ForeignKeyConstraint(['index_key_id'], ['data_keys.id'], ),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('workspace_id', 'name', name='uq_datatables_workspace_name')
    )
    op.create_table('datatable_rows',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('table_id', sa.String(length=40), nullable=False),
    sa.Column('key_token', sa.String(length=64), nullable=False),
    sa.Column('insert_key', sa.String(length=200), nullable=True),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.Float(precision=53), nullable=False),
    sa.Column('updated_at', sa.Float(precision=53), nullable=False),
    sa.ForeignKeyConstraint(['table_id'], ['datatables.id'], ),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('table_id', 'insert_key', name='uq_datatable_rows_insert_key'),
    sa.UniqueConstraint('table_id', 'key_token', name='uq_datatable_rows_key')
    )
    op.create_index('ix_datatable_rows_table_id', 'datatable_rows', ['table_id', 'id'], unique=False)
    op.create_index('ix_datatable_rows_updated', 'datatable_rows', ['table_id', 'updated_at', 'id'], unique=False)
    op.create_table('datatable_index',
    sa.Column('row_id', sa.String(length=40), nullable=False),
    sa.Column('column_id', sa.String(length=16), nullable=False),
    sa.Column('table_id', sa.String(length=40), nullable=False),
    sa.Column('workspace_id', sa.String(length=40), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['row_id'], ['datatable_rows.id'], ),
    sa.ForeignKeyConstraint(['table_id'], ['datatables.id'], ),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ),
    sa.PrimaryKeyConstraint('row_id', 'column_id')
    )
    op.create_index('ix_datatable_index_lookup', 'datatable_index', ['table_id', 'column_id', 'token'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index('ix_datatable_index_lookup', table_name='datatable_index')
    op.drop_table('datatable_index')
    op.drop_index('ix_datatable_rows_updated', table_name='datatable_rows')
    op.drop_index('ix_datatable_rows_table_id', table_name='datatable_rows')
    op.drop_table('datatable_rows')
    op.drop_table('datatables')
