"""/api/v1/tables: the workspace's data tables (schema, rows by key, filtered pages, CSV)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hub.errors import HubError
from hub.tables import catalog, csvio, query, rows
from hub.tables.access import store_for
from hub.tables.errors import FilterInvalid
from hub.web.deps import Editor, HubDep, Viewer

router = APIRouter(prefix="/api/v1/tables", tags=["tables"])
_SCHEMA = Body(description="`{name, key, columns: [{name, type, indexed}], description}`; "
               "types: text, number, integer, boolean, datetime, json.")
_CHANGE = Body(description="`{add: [column], rename: {old: new}, drop: [name], description}`.")


class RowBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    values: dict[str, Any] = Field(description="Column values by column name.")


@router.get("")
async def list_tables(hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """The workspace's tables with their schemas and row counts."""
    return await catalog.list_tables(store_for(hub), workspace_id=who.workspace_id)


@router.post("", status_code=201)
async def create_table(hub: HubDep, who: Editor, spec: Any = _SCHEMA) -> dict[str, Any]:
    """Create a table; a bad schema is ``invalid_schema``, a used name ``table_name_taken``."""
    return await catalog.create_table(store_for(hub), workspace_id=who.workspace_id, spec=spec)


@router.get("/{table}")
async def get_table(table: str, hub: HubDep, who: Viewer) -> dict[str, Any]:
    """A table's schema and row count."""
    return await catalog.get_table(store_for(hub), workspace_id=who.workspace_id, name=table)


@router.patch("/{table}")
async def alter_table(table: str, hub: HubDep, who: Editor,
                      change: Any = _CHANGE) -> dict[str, Any]:
    """Add, rename or drop columns, all or nothing (a dropped column's values are erased)."""
    return await catalog.alter_table(store_for(hub), workspace_id=who.workspace_id, name=table,
                                     change=change)


@router.delete("/{table}", status_code=204)
async def delete_table(table: str, hub: HubDep, who: Editor) -> Response:
    """Delete a table and its rows; refused (``table_in_use``) while a zap's step uses it."""
    await catalog.delete_table(store_for(hub), workspace_id=who.workspace_id, name=table)
    return Response(status_code=204)


def _where(where: str | None) -> Any:
    if where is None:
        return None
    try:
        return json.loads(where)
    except (ValueError, RecursionError):
        raise FilterInvalid("where must be a JSON object, e.g. {\"status\": \"open\"}") from None


class RowsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    limit: int = Field(50, ge=1, description="Rows per page.")
    cursor: str | None = Field(None, max_length=64, description="`next_cursor` of the last page.")
    where: str | None = Field(None, max_length=8192, description="A JSON filter object.")
    order: Literal["asc", "desc"] = Field("asc", description="Creation order or its reverse.")


@router.get("/{table}/rows")
async def list_rows(table: str, hub: HubDep, who: Viewer,
                    params: Annotated[RowsQuery, Query()]) -> dict[str, Any]:
    """Rows in creation order, ``{items, next_cursor}``. A filter on other than the key or
    an indexed column examines a bounded number of rows per page, so a page may be short (or
    empty) and still have a ``next_cursor``."""
    read = query.Read(where=_where(params.where), limit=params.limit, cursor=params.cursor,
                      descending=params.order == "desc")
    return await query.page(store_for(hub), workspace_id=who.workspace_id, name=table,
                            read=read)


@router.post("/{table}/rows", status_code=201)
async def insert_row(table: str, body: RowBody, hub: HubDep, who: Editor) -> dict[str, Any]:
    """Add a row (``duplicate_key`` when its key exists)."""
    return await rows.insert(store_for(hub), workspace_id=who.workspace_id, name=table,
                             values=body.values)


@router.get("/{table}/rows/{key:path}", include_in_schema=False)  # keys with /
@router.get("/{table}/rows/{key}")
async def get_row(table: str, key: str, hub: HubDep, who: Viewer) -> dict[str, Any]:
    """The row with this key."""
    return await query.get(store_for(hub), workspace_id=who.workspace_id, name=table, key=key)


@router.put("/{table}/rows/{key:path}", include_in_schema=False)  # keys with /
@router.put("/{table}/rows/{key}")
async def upsert_row(table: str, key: str, body: RowBody, hub: HubDep, who: Editor,
                     response: Response) -> dict[str, Any]:
    """Create the row with this key (201) or update the given columns (200)."""
    row, created = await rows.upsert(store_for(hub), workspace_id=who.workspace_id,
                                     name=table, values=body.values, key=key)
    response.status_code = 201 if created else 200
    return row


@router.patch("/{table}/rows/{key:path}", include_in_schema=False)  # keys with /
@router.patch("/{table}/rows/{key}")
async def update_row(table: str, key: str, body: RowBody, hub: HubDep,
                     who: Editor) -> dict[str, Any]:
    """Change the given columns of the row with this key (``row_not_found`` otherwise)."""
    return await rows.update(store_for(hub), workspace_id=who.workspace_id, name=table,
                             values=body.values, key=key)


@router.delete("/{table}/rows/{key:path}", include_in_schema=False, status_code=204)  # keys with /
@router.delete("/{table}/rows/{key}", status_code=204)
async def delete_row(table: str, key: str, hub: HubDep, who: Editor) -> Response:
    """Delete the row with this key."""
    await rows.delete_key(store_for(hub), workspace_id=who.workspace_id, name=table, key=key)
    return Response(status_code=204)


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise HubError(f"the CSV file is larger than {limit} bytes", code="payload_too_large",
                       status=413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HubError(f"the CSV file is larger than {limit} bytes",
                           code="payload_too_large", status=413)
        chunks.append(chunk)
    return b"".join(chunks)


@router.post("/{table}/import", openapi_extra={"requestBody": {"required": True, "content": {
    "text/csv": {"schema": {"type": "string"}}}}})
async def import_csv(table: str, request: Request, hub: HubDep, who: Editor,
                     mode: Literal["insert", "upsert"] = "insert") -> dict[str, int]:
    """Import a CSV file sent as the body (``text/csv``, UTF-8): the header names columns;
    all rows or none are written; errors name the row. ``{inserted, updated}``."""
    ctype = request.headers.get("content-type", "text/csv").split(";")[0].strip().lower()
    if ctype.startswith("multipart/"):
        raise HubError("send the CSV file itself as the body (Content-Type: text/csv), "
                       "not a form", code="unsupported_media_type", status=415)
    store = store_for(hub)
    data = await _bounded_body(request, store.limits.csv_max_bytes)
    return await csvio.import_csv(store, workspace_id=who.workspace_id, name=table, data=data,
                                  mode=mode)


@router.get("/{table}/export", response_class=StreamingResponse,
            responses={200: {"content": {"text/csv": {}}}})
async def export_csv(table: str, hub: HubDep, who: Viewer) -> StreamingResponse:
    """The table as CSV, streamed; text cells that a spreadsheet would run as a formula
    (starting with = + - @) are prefixed with '."""
    chunks = await csvio.export_csv(store_for(hub), workspace_id=who.workspace_id, name=table)
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{table}.csv"'})
