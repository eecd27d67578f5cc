"""Shared pieces of the approval tests: a hub with the engine test plugin, people, runs."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from hub import audit
from hub.approvals.tables import approval_requests
from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import HubError
from hub.plugins import create_plugin_manager
from hub.services import identity, people
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import runs
from plugins import engine_fixtures as fx


@asynccontextmanager
async def engine_hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the engine test plugin (``eng.echo`` counts its executions)."""
    fx.reset()
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(fx, name="enginefixtures")
    h = await Hub.open(settings, pm=pm)
    try:
        yield h
    finally:
        await h.close()
        fx.reset()


def echo(sid: str, label: str | None = None, approval: Any = None, **inp: Any) -> dict[str, Any]:
    step: dict[str, Any] = {"id": sid, "use": "eng.echo", "input": {"label": label or sid, **inp}}
    if approval is not None:
        step["approval"] = approval
    return step


async def person(hub: Hub, owner: identity.Principal, email: str,
                 role: str) -> identity.Principal:
    made = await people.create_user(hub, actor=owner, email=email, role=role)
    return await identity.authenticate(hub, made["token"])


async def start(hub: Hub, who: identity.Principal, steps: list[dict[str, Any]],
                data: Any = None, name: str = "z") -> str:
    doc = {"name": name, "trigger": {"kind": "manual"}, "steps": steps}
    zap = await zaps_svc.create_zap(hub, workspace_id=who.workspace_id, document=doc,
                                    user_id=who.user_id)
    run = await runs_svc.start_run(hub, workspace_id=who.workspace_id, zap_id=zap["id"],
                                   data=data or {}, started_by=who.user_id)
    return run["id"]


async def drive(hub: Hub, run_id: str) -> Any:
    """Run the worker until nothing is due; return the run's row."""
    await Worker(hub, poll_interval=0.01).run_until_idle(15)
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(runs).where(runs.c.id == run_id))).one()


async def request_of(hub: Hub, run_id: str) -> Any:
    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(approval_requests).where(
            approval_requests.c.run_id == run_id))).one()


async def expire(hub: Hub, run_id: str) -> None:
    """Move the request's expiry (and the waiting run's due time) into the past."""
    past = time.time() - 1
    async with hub.db.write() as conn:
        await conn.execute(approval_requests.update().where(
            approval_requests.c.run_id == run_id).values(expires_at=past))
        await conn.execute(runs.update().where(runs.c.id == run_id).values(due_at=past))


async def refused(coro: Any) -> str:
    with pytest.raises(HubError) as info:
        await coro
    return info.value.code


async def actions(hub: Hub, ws: str) -> list[str]:
    async with hub.db.read() as conn:
        page = await audit.list_records(conn, ws, limit=200, cursor=None, filters={})
    return [r["action"] for r in reversed(page["items"])]


def calls(run_id: str) -> list[str]:
    return [c["step_id"] for c in fx.CALLS if c["run_id"] == run_id]
