"""``google_sheets.append_row`` and ``google_sheets.find_rows``."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import Action, StepContext

from .api import call, values_url

Cell = str | int | float | bool | None


class _Sheet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    spreadsheet_id: str = Field(pattern=r"^[A-Za-z0-9_-]{10,100}$", title="Spreadsheet id",
                                description="From its URL: /spreadsheets/d/<id>/edit.")
    range: str = Field("Sheet1", min_length=1, max_length=200, title="Sheet or range",
                       description="A sheet name or A1 range, e.g. `Leads` or `Leads!A:F`.")


class AppendRowInput(_Sheet):
    values: list[Cell] = Field(min_length=1, max_length=1000, title="Row values",
                               description="One value per column, left to right.")
    value_input_option: Literal["USER_ENTERED", "RAW"] = Field(
        "USER_ENTERED", title="Values are", description="`USER_ENTERED`: parsed as if typed "
        "(numbers, dates, formulas); `RAW`: stored as given.")


class AppendRowOutput(BaseModel):
    updated_range: str = Field(title="Range written")
    updated_rows: int = Field(title="Rows written")


class AppendRow(Action):
    key = "append_row"
    title = "Append a row"
    description = "Adds a row after the last row of the table (values:append)."
    Input = AppendRowInput
    Output = AppendRowOutput

    async def run(self, payload: AppendRowInput, ctx: StepContext) -> AppendRowOutput:
        url = values_url(payload.spreadsheet_id, payload.range, ":append")
        answer = await call(ctx, "POST", url, params={
            "valueInputOption": payload.value_input_option, "insertDataOption": "INSERT_ROWS"},
            json={"majorDimension": "ROWS", "values": [payload.values]})
        updates = answer.get("updates") or {}
        return AppendRowOutput(updated_range=str(updates.get("updatedRange", "")),
                               updated_rows=int(updates.get("updatedRows") or 0))


class FindRowsInput(_Sheet):
    column: str = Field(min_length=1, max_length=200, title="Column",
                        description="A header of the range's first row.")
    value: Cell = Field(title="Value", description="Rows whose cell equals it (as text).")
    ignore_case: bool = Field(False, title="Ignore case")
    limit: int = Field(10, ge=1, le=500, title="Most rows returned")


class FindRowsOutput(BaseModel):
    rows: list[dict[str, Any]] = Field(title="Rows", description="Keyed by the header row, "
                                       "with `row_number` (the sheet's row).")
    count: int = Field(title="Rows found")
    found: bool = Field(title="Found")


def _headers(first: list[Any]) -> list[str]:
    return [str(h).strip() or f"column_{i + 1}" for i, h in enumerate(first)]


def _start_row(cell_range: str) -> int:
    """The sheet row of the range's first row (``Leads!A5:F`` starts at 5)."""
    cells = cell_range.rpartition("!")[2]
    digits = "".join(c for c in cells.split(":")[0] if c.isdigit())
    return int(digits) if digits and "!" in cell_range else 1


class FindRows(Action):
    key = "find_rows"
    title = "Find rows"
    description = "Reads a range and returns the rows whose column matches, as objects."
    Input = FindRowsInput
    Output = FindRowsOutput

    async def run(self, payload: FindRowsInput, ctx: StepContext) -> FindRowsOutput:
        answer = await call(ctx, "GET", values_url(payload.spreadsheet_id, payload.range),
                            params={"majorDimension": "ROWS",
                                    "valueRenderOption": "FORMATTED_VALUE"})
        values = answer.get("values") or []
        if not values:
            return FindRowsOutput(rows=[], count=0, found=False)
        headers = _headers(values[0])
        if payload.column not in headers:
            return FindRowsOutput(rows=[], count=0, found=False)
        index, first = headers.index(payload.column), _start_row(str(answer.get("range", "")))
        wanted = "" if payload.value is None else str(payload.value)
        if payload.ignore_case:
            wanted = wanted.casefold()
        rows = []
        for n, row in enumerate(values[1:], start=first + 1):
            cell = str(row[index]) if index < len(row) else ""
            if (cell.casefold() if payload.ignore_case else cell) == wanted:
                padded = [*row, *[""] * (len(headers) - len(row))]
                rows.append({**dict(zip(headers, padded, strict=False)), "row_number": n})
                if len(rows) >= payload.limit:
                    break
        return FindRowsOutput(rows=rows, count=len(rows), found=bool(rows))
