"""A data table's schema: named, typed columns with stable ids, one of them the unique key.

Rows store values under column *ids* (``c1``, ``c2`` ...), so renaming a column never rewrites
a row and a dropped column's id is never reused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hub.errors import HubError
from hub.tables import values as V

NAME = r"^[A-Za-z][A-Za-z0-9_]{0,62}$"
META_ORDERS = ("_created_at", "_updated_at")


class SchemaInvalid(HubError):
    code = "invalid_schema"
    status = 422
    title = "Invalid table schema"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ColumnSpec(_Strict):
    name: str = Field(pattern=NAME, description="Letters, digits and _, starting with a letter.")
    type: Literal["text", "number", "integer", "boolean", "datetime", "json"]
    indexed: bool = Field(False, description="Keep a blind index for fast equality filters.")
    description: str = Field("", max_length=500)


class TableSpec(_Strict):
    name: str = Field(pattern=NAME, description="Unique in the workspace.")
    key: str = Field(pattern=NAME, description="The unique key column (text, integer or "
                     "datetime); always indexed.")
    columns: list[ColumnSpec] = Field(min_length=1, max_length=1000)
    description: str = Field("", max_length=1000)


class SchemaChange(_Strict):
    add: list[ColumnSpec] = Field(default_factory=list, max_length=1000)
    rename: dict[str, str] = Field(default_factory=dict, description="Old name to new name.")
    drop: list[str] = Field(default_factory=list, max_length=1000)
    description: str | None = Field(None, max_length=1000)


def parse_spec(model: type[_Strict], data: Any) -> Any:
    """Validate a schema document; every problem is ``invalid_schema`` with its path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                  for e in exc.errors(include_url=False, include_input=False)]
        first = errors[0]
        raise SchemaInvalid(f"{first['path'] or 'schema'}: {first['message']}",
                            extra={"errors": errors}) from None


@dataclass
class Column:
    id: str
    name: str
    type: str
    indexed: bool = False
    description: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": self.type, "indexed": self.indexed,
                "description": self.description}


@dataclass
class Table:
    """A loaded table definition."""

    id: str
    workspace_id: str
    name: str
    key_id: str
    columns: list[Column]
    next_column: int
    row_count: int = 0
    index_key_id: str = ""
    description: str = ""
    created_at: float = 0.0
    updated_at: float = 0.0
    by_name: dict[str, Column] = field(default_factory=dict, repr=False)
    by_id: dict[str, Column] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.reindex()

    def reindex(self) -> None:
        self.by_name = {c.name: c for c in self.columns}
        self.by_id = {c.id: c for c in self.columns}

    @property
    def key(self) -> Column:
        return self.by_id[self.key_id]

    @classmethod
    def from_row(cls, row: Any) -> Table:
        return cls(id=row.id, workspace_id=row.workspace_id, name=row.name,
                   key_id=row.key_column, columns=[Column(**c) for c in row.columns],
                   next_column=row.next_column, row_count=row.row_count,
                   index_key_id=row.index_key_id, description=row.description,
                   created_at=row.created_at, updated_at=row.updated_at)

    def describe(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "key": self.key.name, "columns": [
                    {k: v for k, v in c.as_dict().items() if k != "id"} for c in self.columns],
                "row_count": self.row_count, "created_at": self.created_at,
                "updated_at": self.updated_at}


def _check_column(spec: ColumnSpec, *, is_key: bool) -> None:
    if is_key and spec.type not in V.KEY_TYPES:
        raise SchemaInvalid(f"key column '{spec.name}' must be text, integer or datetime, "
                            f"not {spec.type}")
    if spec.indexed and spec.type not in V.INDEX_TYPES:
        raise SchemaInvalid(f"column '{spec.name}': {spec.type} columns cannot be indexed")


def _unique_names(names: list[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            raise SchemaInvalid(f"column '{name}' appears twice (names ignore case)")
        seen.add(name.lower())


def new_columns(spec: TableSpec, max_columns: int) -> tuple[list[Column], str]:
    """The columns of a new table and its key column's id."""
    if len(spec.columns) > max_columns:
        raise SchemaInvalid(f"a table has at most {max_columns} columns")
    _unique_names([c.name for c in spec.columns])
    if spec.key not in {c.name for c in spec.columns}:
        raise SchemaInvalid(f"key column '{spec.key}' is not among the columns")
    columns = []
    for n, col in enumerate(spec.columns, start=1):
        _check_column(col, is_key=col.name == spec.key)
        columns.append(Column(f"c{n}", col.name, col.type, col.indexed or col.name == spec.key,
                              col.description))
    key_id = next(c.id for c in columns if c.name == spec.key)
    return columns, key_id


def apply_change(table: Table, change: SchemaChange, max_columns: int) -> list[str]:
    """Change ``table`` in place; return the ids of dropped columns."""
    dropped = []
    for name in change.drop:
        col = table.by_name.get(name)
        if col is None:
            raise SchemaInvalid(f"cannot drop '{name}': no such column")
        if col.id == table.key_id:
            raise SchemaInvalid(f"cannot drop the key column '{name}'")
        table.columns.remove(col)
        dropped.append(col.id)
    table.reindex()
    for old, new in change.rename.items():
        col = table.by_name.get(old)
        if col is None:
            raise SchemaInvalid(f"cannot rename '{old}': no such column")
        parse_spec(ColumnSpec, {"name": new, "type": col.type})
        col.name = new
    for spec in change.add:
        _check_column(spec, is_key=False)
        table.columns.append(Column(f"c{table.next_column}", spec.name, spec.type,
                                    spec.indexed, spec.description))
        table.next_column += 1
    _unique_names([c.name for c in table.columns])
    if len(table.columns) > max_columns:
        raise SchemaInvalid(f"a table has at most {max_columns} columns")
    if change.description is not None:
        table.description = change.description
    table.reindex()
    return dropped
