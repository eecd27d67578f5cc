"""Run pages over ASGI: detail with masked data and error codes, cancel/retry, live events."""

from __future__ import annotations

import httpx
from apiclient import Api
from test_ui_approvals import GATED
from test_ui_pages import browser_like, csrf_of, session, viewer_token  # noqa: F401

FAILING = {"name": "boom", "trigger": {"kind": "manual"},
           "steps": [{"id": "t", "use": "core.transform", "input": {"value": "{{ trigger.x }}"}},
                     {"id": "f", "use": "core.filter", "input": {"condition": "`true`"},
                      "when": "trigger.fail"}]}


async def _run(api: Api, body: dict, data: dict) -> dict:
    zap = (await api.post("/api/v1/zaps", json=body)).json()
    res = await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10", json={"input": data})
    return res.json()


async def test_run_detail_shows_the_timeline(api: Api) -> None:
    run = await _run(api, FAILING, {"x": "hello <b>"})
    page = await api.get(f"/runs/{run['id']}")
    assert page.status_code == 200
    assert "succeeded" in page.text and "hello &lt;b&gt;" in page.text
    assert "<h3>t " in page.text
    assert "data-live-reload" not in page.text  # final runs are not watched
    missing = await api.get("/runs/run_0000000000000000000000000a")
    assert missing.status_code == 404 and "run_not_found" in missing.text


async def test_cancel_and_retry_buttons(api: Api, session: httpx.AsyncClient) -> None:  # noqa: F811
    zap = (await api.post("/api/v1/zaps", json=GATED)).json()
    run = (await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10",
                          json={"input": {"amount": 1}})).json()
    assert run["status"] == "waiting"  # for an approval: a stable state to act on
    page = await api.get(f"/runs/{run['id']}")
    assert "Cancel the run</button>" in page.text and 'href="/inbox"' in page.text
    token = csrf_of(page.text)
    viewer = await viewer_token(api)
    viewed = await api.get(f"/runs/{run['id']}", token=viewer)
    assert "Cancel the run</button>" not in viewed.text
    refused = await api.post(f"/runs/{run['id']}/cancel", token=viewer, data={"csrf_token": token})
    assert refused.status_code == 403
    forged = await session.post(f"/runs/{run['id']}/cancel", data={})
    assert forged.status_code == 403 and "csrf_failed" in forged.text
    res = await api.post(f"/runs/{run['id']}/cancel", data={"csrf_token": token})
    assert res.status_code == 303
    assert (await api.get(f"/api/v1/runs/{run['id']}")).json()["status"] == "cancelled"
    again = await api.post(f"/runs/{run['id']}/cancel", data={"csrf_token": token})
    assert again.status_code == 409 and "run_not_cancellable" in again.text
    retried = await api.post(f"/runs/{run['id']}/retry", data={"csrf_token": token})
    assert retried.status_code == 303
    assert (await api.get(f"/api/v1/runs/{run['id']}")).json()["status"] != "cancelled"


async def test_detail_events_say_when_the_status_changed(api: Api) -> None:
    run = await _run(api, FAILING, {"x": 1})
    res = await api.client.get(f"/runs/{run['id']}/events?status=running",
                               headers={**api.auth(), "Accept": "text/event-stream"})
    assert (await api.get(f"/runs/{run['id']}/events")).status_code == 406
    assert res.headers["content-type"].startswith("text/event-stream")
    assert 'event: changed\ndata: {"id": "' + run["id"] + '", "status": "succeeded"}' in res.text


def test_ai_step_details_render() -> None:
    from starlette.requests import Request

    from hub.services.identity import Principal
    from hub.ui.auth import PageContext
    from hub.ui.render import environment

    request = Request({"type": "http", "method": "GET", "path": "/runs/run_x", "headers": [],
                       "query_string": b""})
    step = {"step_id": "classify", "status": "succeeded", "attempt": 1, "round": 0,
            "started_at": 0.0, "duration_ms": 3.0, "input": {"text": "hi"}, "error": None,
            "output": {"label": "urgent", "model": "mock",
                       "decision": "answered by mock (policy 'default')",
                       "usage": {"input_tokens": 42, "output_tokens": 1, "cost": 0.0001},
                       "governance": [{"stage": "output", "guardrail": "pii", "mode": "redact",
                                       "outcome": "redacted", "categories": ["email"]}]}}
    run = {"id": "run_x", "status": "waiting", "zap_id": "zap_x", "zap_version": 1,
           "source": "manual", "created_at": 0.0, "finished_at": None, "error": None,
           "trigger": {}, "result": None, "steps": [step]}
    html = environment().get_template("run.html").render(
        request=request, page=PageContext(Principal("ws", "usr", "viewer"), "t"), run=run,
        zap_name="z", final=(), rerunnable=(), cancellable=(),
        totals={"calls": 1, "input_tokens": 42, "output_tokens": 1, "cost": 0.0001})
    assert "Model <strong>mock</strong>: answered by mock (policy &#39;default&#39;)" in html
    assert "42 + 1 tokens" in html and "<td>pii</td><td>redact</td><td>redacted</td>" in html
    assert "42 input + 1 output tokens" in html and 'href="/inbox"' in html
