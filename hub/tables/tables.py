"""Tables of the workspace data tables: table definitions, sealed rows, the blind index.

Row values are sealed by the workspace payload codec, so SQL never sees them. Lookups use
blind-index tokens instead: HMAC-SHA256 of a value's normalised form under a per-table data
key (a ``data_keys`` row wrapped by the vault's KEK), never the value itself.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.tables import ID, JSON, TS, metadata

datatables = sa.Table(
    "datatables", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("description", sa.String(1000), nullable=False, server_default=""),
    sa.Column("key_column", sa.String(16), nullable=False),
    sa.Column("columns", JSON, nullable=False),
    sa.Column("next_column", sa.Integer, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("index_key_id", ID, sa.ForeignKey("data_keys.id"), nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.UniqueConstraint("workspace_id", "name", name="uq_datatables_workspace_name"),
)

datatable_rows = sa.Table(
    "datatable_rows", metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("table_id", ID, sa.ForeignKey("datatables.id"), nullable=False),
    sa.Column("key_token", sa.String(64), nullable=False),
    sa.Column("insert_key", sa.String(200)),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("updated_at", TS, nullable=False),
    sa.UniqueConstraint("table_id", "key_token", name="uq_datatable_rows_key"),
    sa.UniqueConstraint("table_id", "insert_key", name="uq_datatable_rows_insert_key"),
    sa.Index("ix_datatable_rows_table_id", "table_id", "id"),
    sa.Index("ix_datatable_rows_updated", "table_id", "updated_at", "id"),
)

datatable_index = sa.Table(
    "datatable_index", metadata,
    sa.Column("row_id", ID, sa.ForeignKey("datatable_rows.id"), primary_key=True),
    sa.Column("column_id", sa.String(16), primary_key=True),
    sa.Column("table_id", ID, sa.ForeignKey("datatables.id"), nullable=False),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("token", sa.String(64), nullable=False),
    sa.Index("ix_datatable_index_lookup", "table_id", "column_id", "token"),
)
