"""Zaps: the list and the builder (new zap, edit and save a version)."""

from __future__ import annotations

import asyncio
import copy
import json
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.context import Hub
from hub.errors import HubError, ZapInvalid
from hub.services import connections as connection_service
from hub.services import runs as run_service
from hub.services import zaps as zap_service
from hub.services.catalog import build_catalog
from hub.services.identity import Principal
from hub.ui import builder, builder_view, dryrun, samples
from hub.ui.auth import PageUser, first, page_needs, read_form
from hub.ui.render import render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)
NEW_ZAP: dict[str, Any] = {"name": "", "trigger": {"kind": "webhook", "config": {}},
                           "steps": [{"id": "step_1", "use": builder.DEFAULT_USE, "input": {}}]}
#: Errors of the service that belong to one field of the builder.
FIELD_ERRORS = {"zap_name_taken": "name"}


@router.get("/zaps", dependencies=[page_needs("zaps.read")])
async def zap_list(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    zaps = await zap_service.list_zaps(hub, workspace_id=who.workspace_id)
    return render(request, "zaps.html", zaps=zaps)


async def _connections(hub: Hub, workspace_id: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in await connection_service.list_connections(hub, workspace_id=workspace_id):
        out.setdefault(item["connector"], []).append(item["name"])
    return out


@dataclass
class Draft:
    """A zap document being edited, the errors to show on it and the page's status."""

    doc: dict[str, Any]
    errors: list[dict[str, str]] = field(default_factory=list)
    status: int = 200
    sample: str | None = None  # the test data typed in the form
    test: tuple[int, dict[str, Any]] | None = None  # a step's dry-run result


async def _builder(request: Request, hub: Hub, who: Principal, draft: Draft,
                   zap: dict[str, Any] | None) -> HTMLResponse:
    cat = builder.Catalog.of(build_catalog(hub.registry))
    built = builder_view.view(draft.doc, cat, await _connections(hub, who.workspace_id),
                         draft.errors)
    if zap is not None:
        await samples.add_picks(hub, who.workspace_id, zap["id"], built)
    built.sample_text = draft.sample if draft.sample is not None else json.dumps(
        dryrun.sample_of(built.sample), indent=2, ensure_ascii=False)
    if draft.test is not None and draft.test[0] < len(built.steps):
        built.steps[draft.test[0]].test = draft.test[1]
    return render(request, "builder.html", status=draft.status, b=built, zap=zap,
                  heading=f"Zap: {zap['name']}" if zap else "New zap",
                  action=f"/zaps/{zap['id']}" if zap else "/zaps/new",
                  saved=request.query_params.get("saved", "")[:6],
                  base_url=(hub.settings.public_url or str(request.base_url)).rstrip("/"))


@router.get("/zaps/new", dependencies=[page_needs("zaps.write")])
async def new_zap(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    return await _builder(request, hub, who, Draft(copy.deepcopy(NEW_ZAP)), None)


@router.get("/zaps/{zap_id}", dependencies=[page_needs("zaps.read")])
async def edit_zap(zap_id: str, request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    zap = await zap_service.get_zap(hub, workspace_id=who.workspace_id, zap_id=zap_id[:64])
    return await _builder(request, hub, who, Draft(zap["definition"]), zap)


async def _save(hub: Hub, who: Principal, doc: dict[str, Any],
                zap: dict[str, Any] | None) -> dict[str, Any]:
    if zap is None:
        return await zap_service.create_zap(hub, workspace_id=who.workspace_id, document=doc,
                                            user_id=who.user_id)
    return await zap_service.update_zap(hub, workspace_id=who.workspace_id, zap_id=zap["id"],
                                        document=doc, user_id=who.user_id)


async def _post(request: Request, hub: Hub, who: Principal,
                zap: dict[str, Any] | None) -> Response:
    form = await read_form(request)
    cat = builder.Catalog.of(build_catalog(hub.registry))
    doc, problems = builder.from_form(form, cat)
    op, index = builder.parse_op(first(form, "op"))
    errors = [{"path": k, "message": v} for k, v in problems.items()]
    if op == "run" and zap is not None:
        return await _run_sample(hub, who, zap, form)
    if op == "test" and not errors and index is not None:
        return await _test(request, hub, who, Draft(doc, sample=first(form, "sample")),
                           (index, zap))
    if op != "save" or errors:
        builder.apply_op(doc, op, index)
        return await _builder(request, hub, who, Draft(doc, errors, 422 if errors else 200),
                              zap)
    try:
        saved = await _save(hub, who, doc, zap)
    except ZapInvalid as exc:
        return await _builder(request, hub, who, Draft(doc, exc.errors, 422), zap)
    except HubError as exc:
        if exc.code not in FIELD_ERRORS:
            raise
        errors = [{"path": FIELD_ERRORS[exc.code], "message": exc.message}]
        return await _builder(request, hub, who, Draft(doc, errors, 409), zap)
    return RedirectResponse(f"/zaps/{saved['id']}?saved={saved['version']}", status_code=303)


async def _test(request: Request, hub: Hub, who: Principal, draft: Draft,
                target: tuple[int, dict[str, Any] | None]) -> HTMLResponse:
    """The builder with step ``index`` tested on the form's sample (nothing is called)."""
    index, zap = target
    try:
        sample = dryrun.parse_sample(draft.sample or "")
        if not 0 <= index < len(draft.doc["steps"]):
            raise HubError("no such step", code="invalid_form")
        draft.test = (index, await asyncio.to_thread(
            dryrun.test_step, draft.doc, index, sample, hub.registry))
    except ZapInvalid as exc:
        draft.errors, draft.status = exc.errors, 422
    except HubError as exc:
        draft.errors, draft.status = [{"path": "", "message": exc.message}], exc.status
    return await _builder(request, hub, who, draft, zap)


async def _run_sample(hub: Hub, who: Principal, zap: dict[str, Any],
                      form: dict[str, list[str]]) -> Response:
    """Start a real run of the saved zap with the sample's trigger (confirmed by the user)."""
    who.require("runs.write")
    if not first(form, "confirm_run"):
        raise HubError("tick the box to confirm: a real run calls the zap's apps",
                       code="confirmation_required")
    sample = dryrun.parse_sample(first(form, "sample"))
    run = await run_service.start_run(hub, workspace_id=who.workspace_id, zap_id=zap["id"],
                                      data=sample["trigger"], started_by=who.user_id)
    return RedirectResponse(f"/runs/{run['id']}", status_code=303)


@router.post("/zaps/new", dependencies=[page_needs("zaps.write")])
async def create(request: Request, hub: HubDep, who: PageUser) -> Response:
    return await _post(request, hub, who, None)


@router.post("/zaps/{zap_id}", dependencies=[page_needs("zaps.write")])
async def update(zap_id: str, request: Request, hub: HubDep, who: PageUser) -> Response:
    zap = await zap_service.get_zap(hub, workspace_id=who.workspace_id, zap_id=zap_id[:64])
    return await _post(request, hub, who, zap)
