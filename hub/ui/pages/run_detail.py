"""One run: its step timeline with inputs and outputs (secrets masked), errors with their
codes, the model that answered and why, tokens and cost; cancel and retry buttons; and the
server-sent events that keep the run pages live."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from hub.ai import usage
from hub.errors import HubError, NotFound
from hub.services import runs as run_service
from hub.services import zaps as zap_service
from hub.ui.auth import PageUser, page_needs, read_form
from hub.ui.pages.runs import PAGE_SIZE, PERIODS, RunFilters
from hub.ui.render import environment, render
from hub.web.deps import HubDep

router = APIRouter(include_in_schema=False)
#: A live page's stream ends after this long and the browser reconnects by itself (3 s
#: later): a stopping server never waits long for open pages.
STREAM_SECONDS = 20.0
POLL_SECONDS = 1.0


@router.get("/runs/{run_id}", dependencies=[page_needs("runs.read")])
async def run_detail(run_id: str, request: Request, hub: HubDep, who: PageUser) -> HTMLResponse:
    ws = who.workspace_id
    run = await run_service.get_run(hub, workspace_id=ws, run_id=run_id[:64])
    try:
        zap = await zap_service.get_zap(hub, workspace_id=ws, zap_id=run["zap_id"])
        zap_name = zap["name"]
    except NotFound:
        zap_name = f"{run['zap_id']} (deleted)"
    totals = (await usage.summary(hub, workspace_id=ws, run_id=run["id"]))["total"]
    return render(request, "run.html", run=run, zap_name=zap_name, totals=totals,
                  final=run_service.FINAL, rerunnable=run_service.RERUNNABLE,
                  cancellable=("queued", "waiting", "running"))


@router.post("/runs/{run_id}/{action}", dependencies=[page_needs("runs.write")])
async def run_action(run_id: str, action: str, request: Request, hub: HubDep,
                     who: PageUser) -> Response:
    if action not in ("cancel", "retry"):
        raise NotFound("no such action", code="not_found")
    await read_form(request)
    do = run_service.cancel_run if action == "cancel" else run_service.rerun
    await do(hub, workspace_id=who.workspace_id, run_id=run_id[:64])
    return RedirectResponse(f"/runs/{run_id[:64]}", status_code=303)


def _event(name: str, data: object) -> str:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n"


async def _stream(request: Request, poll: object) -> AsyncIterator[str]:
    """Call ``poll()`` every second and send the events it returns; stop when it returns
    None, when the client goes away, or after ``STREAM_SECONDS``."""
    yield "retry: 3000\n\n"
    ends = time.monotonic() + STREAM_SECONDS
    while time.monotonic() < ends and not await request.is_disconnected():
        chunks = await poll()  # type: ignore[operator]
        if chunks is None:
            return
        for chunk in chunks:
            yield chunk
        await asyncio.sleep(POLL_SECONDS)


def _sse(request: Request, poll: object) -> StreamingResponse:
    if "text/event-stream" not in request.headers.get("accept", ""):
        raise HubError("this is an event stream: ask for text/event-stream",
                       code="not_acceptable", status=406)
    return StreamingResponse(_stream(request, poll), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


@router.get("/runs-events", dependencies=[page_needs("runs.read")])
async def run_list_events(request: Request, hub: HubDep, who: PageUser,
                          filters: Annotated[RunFilters, Query()]) -> StreamingResponse:
    """Rows of the run list that appeared or changed status, as rendered HTML."""
    ws = who.workspace_id
    back = PERIODS.get(filters.period)
    query = run_service.RunQuery(filters.zap or None, filters.status or None, PAGE_SIZE,
                                 since=time.time() - back if back else None)
    seen: dict[str, str] = {}
    names = {z["id"]: z["name"] for z in await zap_service.list_zaps(hub, workspace_id=ws)}
    row = environment().get_template("run_row.html")

    async def poll() -> list[str]:
        found = await run_service.find_runs(hub, workspace_id=ws, query=query)
        out = []
        for run in reversed(found["items"]):  # oldest first: each new one goes on top
            if seen.get(run["id"]) != run["status"]:
                seen[run["id"]] = run["status"]
                out.append(_event("run", {"id": run["id"], "row": row.render(
                    run=run, zap_names=names)}))
        return out

    return _sse(request, poll)


@router.get("/runs/{run_id}/events", dependencies=[page_needs("runs.read")])
async def run_events(run_id: str, request: Request, hub: HubDep, who: PageUser,
                     status: str = "") -> StreamingResponse:
    """One ``changed`` event once the run's status differs from ``status``."""
    ws, rid = who.workspace_id, run_id[:64]
    await run_service.get_run(hub, workspace_id=ws, run_id=rid)  # 404 for a foreign run
    sent = [False]

    async def poll() -> list[str] | None:
        if sent[0]:
            return None
        now = (await run_service.find_runs(hub, workspace_id=ws, query=run_service.RunQuery(
            limit=1, cursor=_after(rid))))["items"]
        if now and now[0]["id"] == rid and now[0]["status"] != status[:16]:
            sent[0] = True
            return [_event("changed", {"id": rid, "status": now[0]["status"]})]
        return []

    return _sse(request, poll)


def _after(run_id: str) -> str:
    """A cursor whose page starts with ``run_id`` (cursors are exclusive upper bounds)."""
    return run_id + "0"
