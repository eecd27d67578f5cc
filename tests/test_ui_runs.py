"""Run pages over ASGI: detail with masked data and error codes, cancel/retry, live events."""

from __future__ import annotations

from apiclient import Api
from test_ui_pages import csrf_of, viewer_token

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


async def test_cancel_and_retry_buttons(api: Api) -> None:
    zap = (await api.post("/api/v1/zaps", json={**FAILING, "enabled": True})).json()
    run = (await api.post(f"/api/v1/zaps/{zap['id']}/runs", json={"input": {}})).json()
    page = await api.get(f"/runs/{run['id']}")
    token = csrf_of(page.text)
    viewer = await viewer_token(api)
    refused = await api.post(f"/runs/{run['id']}/cancel", token=viewer, data={"csrf_token": token})
    assert refused.status_code == 403
    res = await api.post(f"/runs/{run['id']}/cancel", data={"csrf_token": token})
    final = (await api.get(f"/api/v1/runs/{run['id']}")).json()["status"]
    if res.status_code == 303:  # cancelled before the worker finished it
        assert final in ("cancelled", "succeeded")
    else:
        assert res.status_code == 409 and "run_not_cancellable" in res.text
    if final == "cancelled":
        again = await api.post(f"/runs/{run['id']}/retry", data={"csrf_token": token})
        assert again.status_code == 303
    forged = await api.post(f"/runs/{run['id']}/retry", data={})
    assert forged.status_code == 403 and "csrf_failed" in forged.text


async def test_detail_events_say_when_the_status_changed(api: Api) -> None:
    run = await _run(api, FAILING, {"x": 1})
    res = await api.get(f"/runs/{run['id']}/events?status=running")
    assert res.headers["content-type"].startswith("text/event-stream")
    assert 'event: changed\ndata: {"id": "' + run["id"] + '", "status": "succeeded"}' in res.text
