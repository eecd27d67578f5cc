"""Connections: the list with each one's status, a credentials form generated from the
connector's schema (checked before it is saved), "Connect" through OAuth, test, delete (refused
while zaps use it, naming them)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub import oauth
from hub.context import Hub
from hub.errors import HubError
from hub.services import connections as service
from hub.services.catalog import build_catalog
from hub.ui import forms
from hub.ui.auth import PageUser, first, page_needs, read_form
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)


def _connectors(hub: Hub) -> dict[str, dict[str, Any]]:
    return {c["key"]: c for c in build_catalog(hub.registry)["connectors"]
            if c["needs_connection"]}


@router.get("/connections", dependencies=[page_needs("connections.read")])
async def connection_list(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    items = await service.list_connections(hub, workspace_id=who.workspace_id)
    return render(request, "connections.html", items=items,
                  result=request.query_params.get("result", "")[:200])


def _form_page(request: Request, hub: Hub, key: str, values: dict[str, Any],
               errors: list[dict[str, str]], status: int = 200) -> HTMLResponse:
    connectors = _connectors(hub)
    chosen = connectors.get(key) or next(iter(connectors.values()))
    fields = forms.build(chosen["credentials_schema"] or {}, "values", values)
    general = _place(fields, errors)
    return render(request, "connection_new.html", status=status, connectors=connectors,
                  chosen=chosen, fields=fields, general=general, name=values.get("_name", ""))


def _place(fields: list[forms.Field], errors: list[dict[str, str]]) -> list[dict[str, str]]:
    """Put each error on its field; return those that belong to no field."""
    by_name = {f.name: f for f in fields}
    general = []
    for err in errors:
        target = by_name.get(f"values.{err['path']}") if err.get("path") else None
        if target is None:
            general.append(err)
        else:
            target.error = err["message"]
    return general


@router.get("/connections/new", dependencies=[page_needs("connections.write")])
async def new_connection(request: Request, hub: HubDep, who: PageUser,
                         connector: str = "") -> HTMLResponse:
    return _form_page(request, hub, connector[:64], {}, [])


@router.post("/connections/new", dependencies=[page_needs("connections.write")])
async def create(request: Request, hub: HubDep, who: PageUser) -> Response:
    form = await read_form(request)
    key, name = first(form, "connector")[:64], first(form, "name").strip()
    connectors = _connectors(hub)
    if key not in connectors or first(form, "op") == "refresh":
        return _form_page(request, hub, key, {"_name": name}, [])
    problems: dict[str, str] = {}
    values = forms.parse(connectors[key]["credentials_schema"] or {}, "values", form, problems)
    if problems:
        return _form_page(request, hub, key, {**values, "_name": name},
                          [{"path": k.removeprefix("values."), "message": v}
                           for k, v in problems.items()], 422)
    try:
        await service.create_connection(hub, workspace_id=who.workspace_id, connector=key,
                                        name=name, values=values)
    except HubError as exc:
        errors = exc.extra.get("errors") or [{"path": "", "message": exc.message}]
        return _form_page(request, hub, key, {**values, "_name": name},
                          [{**e, "code": exc.code} for e in errors], exc.status)
    return RedirectResponse(f"/connections?result=created+{name}", status_code=303)


@router.post("/connections/oauth", dependencies=[page_needs("connections.write")])
async def connect(request: Request, hub: HubDep, who: PageUser) -> Response:
    """Start the OAuth flow and send the browser to the provider."""
    form = await read_form(request)
    started = await oauth.start(hub, workspace_id=who.workspace_id,
                                connector=first(form, "connector")[:64],
                                name=first(form, "name")[:200],
                                client_id=first(form, "client_id")[:500],
                                client_secret=first(form, "client_secret")[:2000])
    return RedirectResponse(started["authorize_url"], status_code=303)


@router.post("/connections/{connection_id}/{action}",
             dependencies=[page_needs("connections.write")])
async def act(connection_id: str, action: str, request: Request, hub: HubDep,
              who: PageUser) -> Response:
    if action not in ("test", "delete"):
        raise HubError("no such action", code="not_found", status=404)
    await read_form(request)
    ws, cid = who.workspace_id, connection_id[:64]
    if action == "delete":
        await service.delete_connection(hub, workspace_id=ws, connection_id=cid)
        return RedirectResponse("/connections?result=deleted", status_code=303)
    result = await service.test_connection(hub, workspace_id=ws, connection_id=cid)
    outcome = "ok" if result["ok"] else f"failed: {result['code']}"
    return RedirectResponse(f"/connections?result=test+{outcome}", status_code=303)
