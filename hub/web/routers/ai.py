"""/api/v1/ai: model entries, routing policies, the workspace's AI settings (guardrail policy,
budgets), and usage. Only admins change models, policies and settings."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Query, Request

from hub.ai import config as aiconf
from hub.ai import usage as aiusage
from hub.context import Hub
from hub.errors import BadRequest, NotFound
from hub.parsing import loads_json, loads_yaml
from hub.web.deps import Admin, HubDep, Viewer

router = APIRouter(prefix="/api/v1/ai", tags=["ai"])


async def _body(request: Request, hub: Hub) -> Any:
    """A JSON or YAML body (YAML without anchors or aliases, parsed on a worker thread)."""
    raw = await request.body()
    depth = hub.settings.max_json_depth
    if "yaml" in request.headers.get("content-type", ""):
        return await asyncio.to_thread(loads_yaml, raw, max_depth=depth, code="invalid_body")
    return loads_json(raw, max_depth=depth, code="invalid_body")


@router.get("/providers")
async def providers(hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """Registered model providers with capabilities, tags, prices and config schema."""
    return [{"key": k, "title": c.title, "capabilities": sorted(c.capabilities),
             "tags": sorted(c.tags), "price_input_per_1k": c.price_input_per_1k,
             "price_output_per_1k": c.price_output_per_1k, "needs_key": c.needs_key,
             "config_schema": c.Config.model_json_schema()}
            for k, c in sorted(hub.registry.models.items())]


@router.get("/models")
async def list_models(hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """The workspace's model entries."""
    snap = await aiconf.load(hub, who.workspace_id)
    return [m.model_dump() for m in snap.models.values()]


@router.put("/models/{name}")
async def put_model(name: str, request: Request, hub: HubDep, who: Admin) -> dict[str, Any]:
    """Create or replace a model entry (JSON or YAML body)."""
    data = await _body(request, hub)
    if not isinstance(data, dict):
        raise BadRequest("the body must be an object", code="invalid_model", status=422)
    return await aiconf.put_model(hub, workspace_id=who.workspace_id, data={**data, "name": name})


@router.delete("/models/{name}", status_code=204)
async def delete_model(name: str, hub: HubDep, who: Admin) -> None:
    """Delete a model entry."""
    await aiconf.delete_named(hub, workspace_id=who.workspace_id, kind="model", name=name)


@router.get("/policies")
async def list_policies(hub: HubDep, who: Viewer) -> list[dict[str, Any]]:
    """The workspace's routing policies."""
    snap = await aiconf.load(hub, who.workspace_id)
    return [p.model_dump(mode="json") for p in snap.policies.values()]


@router.get("/policies/{name}")
async def get_policy(name: str, hub: HubDep, who: Viewer) -> dict[str, Any]:
    """One routing policy."""
    snap = await aiconf.load(hub, who.workspace_id)
    if name not in snap.policies:
        raise NotFound(f"no policy '{name}'", code="policy_not_found")
    return snap.policies[name].model_dump(mode="json")


@router.put("/policies/{name}")
async def put_policy(name: str, request: Request, hub: HubDep, who: Admin) -> dict[str, Any]:
    """Create or replace a routing policy (JSON or YAML body)."""
    data = await _body(request, hub)
    if not isinstance(data, dict):
        raise BadRequest("the body must be an object", code="invalid_policy", status=422)
    return await aiconf.put_policy(hub, workspace_id=who.workspace_id,
                                   data={**data, "name": name})


@router.delete("/policies/{name}", status_code=204)
async def delete_policy(name: str, hub: HubDep, who: Admin) -> None:
    """Delete a routing policy."""
    await aiconf.delete_named(hub, workspace_id=who.workspace_id, kind="policy", name=name)


@router.get("/settings")
async def get_settings(hub: HubDep, who: Viewer) -> dict[str, Any]:
    """The workspace's guardrail policy, budgets and whether steps may name models directly."""
    aiconf.invalidate(hub, who.workspace_id)
    snap = await aiconf.load(hub, who.workspace_id)
    return snap.settings.model_dump(mode="json")


@router.put("/settings")
async def put_settings(request: Request, hub: HubDep, who: Admin) -> dict[str, Any]:
    """Replace the guardrail policy, budgets and direct-model switch (admins only)."""
    return await aiconf.put_settings(hub, workspace_id=who.workspace_id,
                                     data=await _body(request, hub), user_id=who.user_id)


@router.get("/usage")
async def get_usage(hub: HubDep, who: Viewer,
                    period: str | None = Query(None, max_length=10),
                    group_by: str | None = Query(None, max_length=8),
                    zap_id: str | None = Query(None, max_length=40),
                    run_id: str | None = Query(None, max_length=40)) -> dict[str, Any]:
    """Tokens, cost and calls, for a period (YYYY-MM or YYYY-MM-DD), zap or run, grouped by
    model, zap, run, step, day or month."""
    return await aiusage.summary(hub, workspace_id=who.workspace_id, period=period,
                                 group_by=group_by, zap_id=zap_id, run_id=run_id)
