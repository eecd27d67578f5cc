"""Helpers shared by the webhook, intake and schedule tests (no tests here)."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import sqlalchemy as sa
from apiclient import Api

from hub.context import Hub
from hub.intake.tables import trigger_events
from hub.services import connections
from hub.store.tables import runs

SECRET = "It's a Secret to Everybody"


def github_sig(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hub_of(api: Api) -> Hub:
    return api.app.state.hub


async def workspace(api: Api) -> str:
    return (await api.get("/api/v1/me")).json()["workspace_id"]


async def add_secret(hub: Hub, ws: str, name: str = "gh-secret", secret: str = SECRET,
                     previous: str | None = None) -> None:
    values: dict[str, Any] = {"secret": secret}
    if previous:
        values["previous_secret"] = previous
    await connections.create_connection(hub, workspace_id=ws, connector="webhook_secret",
                                        name=name, values=values)


def webhook_zap(name: str = "hooked", steps: list[dict[str, Any]] | None = None,
                **config: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"kind": "webhook", "config": config},
            "steps": steps or [{"id": "echo", "use": "core.transform",
                                "input": {"body": "{{ trigger.body }}",
                                          "event": "{{ trigger.headers.\"x-github-event\" }}"}}]}


async def create_hook(api: Api, doc: dict[str, Any]) -> tuple[str, str]:
    """Create the zap; return (zap id, hook path)."""
    made = await api.post("/api/v1/zaps", json=doc)
    assert made.status_code == 201, made.text
    detail = (await api.get(f"/api/v1/zaps/{made.json()['id']}")).json()
    return made.json()["id"], detail["webhook"]["path"]


async def github_zap(api: Api, **config: Any) -> tuple[str, str]:
    hub = hub_of(api)
    ws = await workspace(api)
    await add_secret(hub, ws)
    return await create_hook(api, webhook_zap(signature="github", connection="gh-secret",
                                              **config))


def signed(body: Any, delivery: str = "d-1", secret: str = SECRET) -> dict[str, Any]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return {"content": raw, "headers": {
        "content-type": "application/json", "x-github-event": "push",
        "x-github-delivery": delivery, "x-hub-signature-256": github_sig(raw, secret)}}


async def count_rows(hub: Hub, zap_id: str) -> tuple[int, int]:
    """(runs, trigger events) of the zap."""
    async with hub.db.read() as conn:
        n_runs = (await conn.execute(sa.select(sa.func.count()).select_from(runs).where(
            runs.c.zap_id == zap_id))).scalar()
        n_events = (await conn.execute(sa.select(sa.func.count()).select_from(
            trigger_events).where(trigger_events.c.zap_id == zap_id))).scalar()
    return int(n_runs or 0), int(n_events or 0)
