"""Data tables: browse with a filter, add, edit and delete rows, CSV import and export."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from hub.errors import BadRequest, HubError
from hub.tables import catalog, csvio, query, rows, values
from hub.tables.access import store_for
from hub.ui.auth import PageUser, first, page_needs, read_form
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)
PAGE = 50


@router.get("/tables", dependencies=[page_needs("tables.read")])
async def table_list(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    found = await catalog.list_tables(store_for(hub), workspace_id=who.workspace_id)
    return render(request, "tables.html", tables=found)


def _where(column: str, value: str, raw: str) -> Any:
    if raw.strip():
        try:
            return json.loads(raw)
        except (ValueError, RecursionError):
            raise BadRequest("the filter is not valid JSON", code="invalid_filter") from None
    return {column: value} if column else None


async def _page(request: Request, hub: Any, ws: str, name: str, **extra: Any) -> HTMLResponse:
    store = store_for(hub)
    table = await catalog.get_table(store, workspace_id=ws, name=name)
    params = request.query_params
    where = _where(params.get("column", "")[:64], params.get("value", "")[:1000],
                   params.get("where", "")[:8192])
    read = query.Read(where=where, limit=PAGE, cursor=params.get("cursor", "")[:64] or None)
    found = await query.page(store, workspace_id=ws, name=name, read=read)
    kinds = {c["name"]: c["type"] for c in table["columns"]}
    shown = [{"key": r["key"], "cells": {k: values.to_text(kinds[k], v) if v is not None
                                         else "" for k, v in r["values"].items()}}
             for r in found["items"]]
    return render(request, "table.html", table=table, rows=shown,
                  next_cursor=found["next_cursor"], filters=dict(params), **extra)


@router.get("/tables/{name}", dependencies=[page_needs("tables.read")])
async def table_page(name: str, request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    return await _page(request, hub, who.workspace_id, name[:64], errors={}, result="")


def _typed(table: dict[str, Any], form: dict[str, list[str]]) -> tuple[dict[str, Any],
                                                                         dict[str, str]]:
    out, problems = {}, {}
    for col in table["columns"]:
        field = f"col.{col['name']}"
        if field not in form:
            continue
        text = first(form, field)
        try:
            out[col["name"]] = values.parse(col["type"], text) if text != "" else None
        except values.ValueProblem as exc:
            problems[col["name"]] = f"{col['name']} {exc}"
    return out, problems


async def _row_action(hub: Any, ws: str, name: str, action: str,
                      form: dict[str, list[str]]) -> str:
    store = store_for(hub)
    if action == "import":
        done = await csvio.import_csv(store, workspace_id=ws, name=name,
                                      data=first(form, "csv").encode(),
                                      mode="upsert" if first(form, "upsert") else "insert")
        return f"imported: {done.get('inserted', 0)} added, {done.get('updated', 0)} updated"
    table = await catalog.get_table(store, workspace_id=ws, name=name)
    if action == "delete":
        await rows.delete_key(store, workspace_id=ws, name=name, key=first(form, "key"))
        return "row deleted"
    typed, problems = _typed(table, form)
    if problems:
        raise HubError("; ".join(problems.values()), code="invalid_value",
                       extra={"fields": problems})
    if action == "insert":
        await rows.insert(store, workspace_id=ws, name=name, values=typed)
        return "row added"
    if action == "update":
        typed.pop(table["key"], None)
        await rows.update(store, workspace_id=ws, name=name, values=typed,
                          key=first(form, "key"))
        return "row saved"
    raise HubError("no such action", code="not_found", status=404)


@router.post("/tables/{name}/{action}", dependencies=[page_needs("tables.write")])
async def row_action(name: str, action: str, request: Request, hub: HubDep,
                     who: PageUser) -> Response:
    form = await read_form(request)
    try:
        result = await _row_action(hub, who.workspace_id, name[:64], action, form)
    except HubError as exc:
        if exc.status == 404 and exc.code == "not_found":
            raise
        return await _page(request, hub, who.workspace_id, name[:64], result="",
                           status=exc.status, errors={"code": exc.code, "message": exc.message,
                                   "fields": exc.extra.get("fields", {})})
    return RedirectResponse(f"/tables/{name[:64]}?done={quote(result)}", status_code=303)


@router.get("/tables/{name}/export.csv", dependencies=[page_needs("tables.read")])
async def export(name: str, hub: HubDep, who: PageUser) -> StreamingResponse:
    chunks = await csvio.export_csv(store_for(hub), workspace_id=who.workspace_id,
                                    name=name[:64])
    return StreamingResponse(chunks, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{name[:64]}.csv"'})
