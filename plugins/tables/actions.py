"""The ``tables.*`` actions: thin wrappers over ``ctx.tables`` (``hub.tables.access``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import Action, StepContext, StepError

_TABLE = Field(min_length=1, max_length=64, title="Table", description="The table's name.",
               examples=["contacts"])
_VALUES = Field(title="Values", description="Column values by column name; the key column "
                "is required. null empties a column.", examples=[{"email": "ada@example.com"}])
_WHERE_HELP = ("{column: value} for equality, or {column: {op: value}} with op one of eq, ne, "
               "gt, gte, lt, lte, in, contains, starts_with, is_null. All must hold.")


def _tables(ctx: StepContext) -> Any:
    if ctx.tables is None:
        raise StepError("this step was given no access to data tables",
                        code="tables_unavailable", retryable=False)
    return ctx.tables


class WriteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = _TABLE
    values: dict[str, Any] = _VALUES


class RowOutput(BaseModel):
    row: dict[str, Any] = Field(description="The row's values by column name, after the write.")
    created: bool = Field(description="Whether a new row was added.")


class Insert(Action):
    """Add a row; a row with the same key fails the step with ``duplicate_key``."""

    key = "insert"
    title = "Add a row"
    description = ("Adds a row to a data table. Fails with duplicate_key when the key exists; "
                   "a retried step returns the row it already added.")
    Input = WriteInput
    Output = RowOutput

    async def run(self, payload: WriteInput, ctx: StepContext) -> RowOutput:
        row = await _tables(ctx).insert(payload.table, payload.values,
                                        idempotency_key=ctx.idempotency_key)
        return RowOutput(row=row["values"], created=True)


class Upsert(Action):
    """Insert the row, or update the given columns of the row with the same key."""

    key = "upsert"
    title = "Add or update a row"
    description = ("Adds the row, or updates the given columns of the row with the same key "
                   "(safe to repeat).")
    Input = WriteInput
    Output = RowOutput

    async def run(self, payload: WriteInput, ctx: StepContext) -> RowOutput:
        row, created = await _tables(ctx).upsert(payload.table, payload.values)
        return RowOutput(row=row["values"], created=created)


class UpdateOutput(BaseModel):
    row: dict[str, Any] = Field(description="The row's values by column name, after the update.")


class Update(Action):
    """Change some columns of the row whose key is given; ``row_not_found`` otherwise."""

    key = "update"
    title = "Update a row"
    description = ("Changes the given columns of the row whose key is among the values; "
                   "fails with row_not_found when there is none.")
    Input = WriteInput
    Output = UpdateOutput

    async def run(self, payload: WriteInput, ctx: StepContext) -> UpdateOutput:
        row = await _tables(ctx).update(payload.table, payload.values)
        return UpdateOutput(row=row["values"])


class FindInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = _TABLE
    where: dict[str, Any] = Field(default_factory=dict, title="Filter", description=_WHERE_HELP,
                                  examples=[{"status": "open", "score": {"gte": 3}}])
    order_by: str = Field("_created_at", max_length=64, title="Order by",
                          description="A column, _created_at or _updated_at.")
    order: Literal["asc", "desc"] = Field("asc", title="Order", description="asc or desc.")
    limit: int = Field(100, ge=1, le=10_000, title="Limit",
                       description="At most this many rows; above the hub's page limit "
                       "(500 by default) the step fails with invalid_limit.")


class FindOutput(BaseModel):
    rows: list[dict[str, Any]] = Field(description="Matching rows' values by column name.")
    count: int = Field(description="How many rows were found.")
    first: dict[str, Any] | None = Field(None, description="The first row, or null.")


class Find(Action):
    """Rows matching a filter, ordered and limited."""

    key = "find"
    title = "Find rows"
    description = ("Finds rows by column values. Equality on the key or an indexed column is "
                   "fast; other filters examine a bounded number of rows (filter_too_broad).")
    Input = FindInput
    Output = FindOutput

    async def run(self, payload: FindInput, ctx: StepContext) -> FindOutput:
        found = await _tables(ctx).find(payload.table, where=payload.where or None,
                                        order_by=payload.order_by,
                                        descending=payload.order == "desc", limit=payload.limit)
        rows = [r["values"] for r in found]
        return FindOutput(rows=rows, count=len(rows), first=rows[0] if rows else None)


class DeleteInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    table: str = _TABLE
    where: dict[str, Any] = Field(min_length=1, title="Filter",
                                  description="Rows to delete; by key: {<key column>: value}. "
                                  + _WHERE_HELP, examples=[{"email": "ada@example.com"}])
    limit: int = Field(100, ge=1, le=10_000, title="Limit",
                       description="Delete at most this many rows (at most the hub's page "
                       "limit, 500 by default).")


class DeleteOutput(BaseModel):
    deleted: int = Field(description="How many rows were deleted (0 when none matched).")


class Delete(Action):
    """Delete the rows matching a filter (at most ``limit``)."""

    key = "delete"
    title = "Delete rows"
    description = "Deletes the row with a key, or up to `limit` rows matching a filter."
    Input = DeleteInput
    Output = DeleteOutput

    async def run(self, payload: DeleteInput, ctx: StepContext) -> DeleteOutput:
        deleted = await _tables(ctx).delete(payload.table, where=payload.where,
                                            limit=payload.limit)
        return DeleteOutput(deleted=deleted)
