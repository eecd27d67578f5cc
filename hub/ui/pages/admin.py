"""Admin pages about the hub itself: AI model entries, routing and guardrail policies, budgets
and the approval policy (edited as YAML documents, validated by their services); usage with a
cost chart; plugins (loaded, registered, failed) and the encryption keys' status."""

from __future__ import annotations

import asyncio
import time
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.ai import config as aiconf
from hub.ai import usage
from hub.approvals import policy as approval_policy
from hub.approvals.service import actor_of
from hub.errors import HubError
from hub.parsing import loads_yaml
from hub.services.plugins import describe_plugins
from hub.ui import charts
from hub.ui.auth import PageUser, first, page_needs, read_form
from hub.ui.render import render
from hub.vault import keys
from hub.web.deps import PUBLIC, HubDep

router = APIRouter(include_in_schema=False)
KINDS = ("model", "policy", "settings", "approvals")
MONTH = r"^(\d{4}-\d{2})?$"


def _yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True)


async def _documents(hub: Any, ws: str) -> dict[str, Any]:
    snap = await aiconf.load(hub, ws)
    rules = await approval_policy.load_policy(hub.db, ws)
    return {"models": {n: _yaml(m.model_dump(mode="json")) for n, m in snap.models.items()},
            "policies": {n: _yaml(p.model_dump(mode="json")) for n, p in snap.policies.items()},
            "settings": _yaml(snap.settings.model_dump(mode="json")),
            "approvals": _yaml(rules.model_dump(mode="json"))}


@router.get("/admin", dependencies=[PUBLIC])
async def admin_home() -> Response:
    return RedirectResponse("/admin/members", status_code=303)


@router.get("/admin/ai", dependencies=[page_needs("ai.read")])
async def ai_page(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    return render(request, "admin_ai.html", docs=await _documents(hub, who.workspace_id),
                  error=None, saved=request.query_params.get("saved", "")[:20])


async def _save(hub: Any, who: Any, kind: str, name: str, data: Any) -> None:
    ws = who.workspace_id
    if kind == "model":
        await aiconf.put_model(hub, workspace_id=ws, data={**data, "name": name})
    elif kind == "policy":
        await aiconf.put_policy(hub, workspace_id=ws, data={**data, "name": name})
    elif kind == "settings":
        await aiconf.put_settings(hub, workspace_id=ws, data=data, user_id=who.user_id)
    else:
        await approval_policy.save_policy(hub.db, workspace_id=ws, document=data,
                                          actor=actor_of(who))


@router.post("/admin/ai", dependencies=[page_needs("admin")])
async def ai_save(request: Request, hub: HubDep, who: PageUser) -> Response:
    form = await read_form(request)
    kind, name = first(form, "kind"), first(form, "name").strip()[:100]
    try:
        if kind not in KINDS or (kind in ("model", "policy") and not name):
            raise HubError("choose what to save and give it a name", code="invalid_form")
        data = await asyncio.to_thread(loads_yaml, first(form, "document").encode(),
                                       max_depth=hub.settings.max_json_depth,
                                       code="invalid_body")
        if not isinstance(data, dict):
            raise HubError("the document must be a mapping", code="invalid_body", status=422)
        await _save(hub, who, kind, name, data)
    except HubError as exc:
        return render(request, "admin_ai.html", status=exc.status, error=exc,
                      docs=await _documents(hub, who.workspace_id), saved="")
    return RedirectResponse(f"/admin/ai?saved={kind}", status_code=303)


@router.get("/admin/usage", dependencies=[page_needs("ai.read")])
async def usage_page(request: Request, hub: HubDep, who: PageUser,
                     month: Annotated[str, Query(pattern=MONTH)] = "") -> HTMLResponse:
    month = month or time.strftime("%Y-%m", time.gmtime())
    ws = who.workspace_id
    days = await usage.summary(hub, workspace_id=ws, period=month, group_by="day")
    zaps = await usage.summary(hub, workspace_id=ws, period=month, group_by="zap")
    return render(request, "admin_usage.html", month=month, total=days["total"],
                  by_day=charts.bars([(g["day"][-2:], g["cost"]) for g in days["groups"]],
                                     "Cost per day"),
                  by_zap=charts.bars([(g["zap"], g["cost"]) for g in zaps["groups"]],
                                     "Cost per zap"),
                  days=days["groups"], zaps=zaps["groups"])


@router.get("/admin/plugins", dependencies=[page_needs("admin")])
async def plugins_page(request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    used = await keys.counts(hub)
    held = hub.secrets.key_ids() if hub.secrets is not None else []
    key_rows = [{"key_id": k, "data_keys": used.get(k, 0), "in_store": k in held}
                for k in dict.fromkeys([*held, *used])]
    current = hub.secrets.current_key_id() if hub.secrets is not None else None
    return render(request, "admin_plugins.html", plugins=describe_plugins(hub.pm, hub.registry),
                  keys=key_rows, current=current)
