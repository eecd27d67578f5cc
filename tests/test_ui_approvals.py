"""The approvals inbox over ASGI: what waits, exactly what will run, approve with a comment;
the run's starter cannot approve, a forged post is refused."""

from __future__ import annotations

import asyncio
import re

import httpx
from apiclient import Api
from test_ui_pages import browser_like, csrf_of, session  # noqa: F401

GATED = {"name": "gated", "trigger": {"kind": "manual"},
         "steps": [{"id": "pay", "use": "core.transform",
                    "input": {"value": "{{ trigger.amount }}"},
                    "approval": {"approvers": "admin", "timeout": "1h"}}]}


async def _waiting_run(api: Api) -> tuple[str, str]:
    zap = (await api.post("/api/v1/zaps", json=GATED)).json()
    run = (await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10",
                          json={"input": {"amount": 42}})).json()
    assert run["status"] == "waiting", run
    made = await api.post("/api/v1/users", json={"email": "a2@example.test", "role": "admin"})
    return run["id"], made.json()["token"]


async def test_inbox_approve_flow(api: Api, session: httpx.AsyncClient) -> None:  # noqa: F811
    run_id, second = await _waiting_run(api)
    inbox = await api.get("/inbox?mine=true", token=second)
    assert inbox.status_code == 200 and run_id in inbox.text and "waits for you" in inbox.text
    made = await api.post("/api/v1/users", json={"email": "e@example.test", "role": "editor"})
    theirs = await api.get("/inbox?mine=true", token=made.json()["token"])
    assert theirs.status_code == 200 and run_id not in theirs.text
    link = re.search(r'href="(/inbox/apr_[^"]+)"', inbox.text)
    assert link, inbox.text
    page = await api.get(link.group(1), token=second)
    assert "core.transform" in page.text and "42" in page.text
    # the owner started the run: not allowed to approve it
    mine = await api.get(link.group(1))
    shown = re.search(r'name="input_hash" value="([^"]+)"', mine.text).group(1)
    res = await api.post(link.group(1), data={"csrf_token": csrf_of(mine.text),
                                              "decision": "approve", "input_hash": shown})
    assert res.status_code == 403 and "self_approval_forbidden" in res.text
    forged = await session.post(link.group(1), data={"decision": "approve"})
    assert forged.status_code == 403 and "csrf_failed" in forged.text
    form = {"csrf_token": csrf_of(page.text), "decision": "approve", "comment": "ok by me",
            "input_hash": re.search(r'name="input_hash" value="([^"]+)"', page.text).group(1)}
    res = await api.post(link.group(1), token=second, data=form)
    assert res.status_code == 303
    for _ in range(100):
        run = (await api.get(f"/api/v1/runs/{run_id}")).json()
        if run["status"] == "succeeded":
            break
        await asyncio.sleep(0.05)
    assert run["status"] == "succeeded"
    done = await api.get(link.group(1), token=second)
    assert "ok by me" in done.text and "approved" in done.text
