"""The runs API through the real app with its in-process worker."""

from __future__ import annotations

from test_api_zaps import ZAP


async def _zap(api, doc=None) -> str:  # type: ignore[no-untyped-def]
    r = await api.post("/api/v1/zaps", json=doc or ZAP)
    assert r.status_code == 201, r.text
    return r.json()["id"]


async def test_start_and_wait_for_a_run(api) -> None:
    zid = await _zap(api)
    r = await api.post(f"/api/v1/zaps/{zid}/runs?wait=10",
                       json={"input": {"name": "Ada", "vip": True}})
    assert r.status_code == 200, r.text
    run = r.json()
    assert run["status"] == "succeeded"
    assert run["result"] == {"text": "Hello, Ada!"}
    assert [s["step_id"] for s in run["steps"]] == ["shape", "gate", "out"]
    assert run["steps"][0]["input"] == {"message": "Hello, Ada!"}
    assert run["steps"][0]["idempotency_key"] == f"{run['id']}:shape"


async def test_filtered_run(api) -> None:
    zid = await _zap(api)
    r = await api.post(f"/api/v1/zaps/{zid}/runs?wait=10", json={"input": {"name": "Bo"}})
    run = r.json()
    assert run["status"] == "filtered" and run["result"] is None
    assert [s["step_id"] for s in run["steps"]] == ["shape", "gate"]


async def test_queue_without_wait_then_detail(api) -> None:
    zid = await _zap(api)
    r = await api.post(f"/api/v1/zaps/{zid}/runs", json={"input": {"name": "Cy", "vip": 1}})
    assert r.status_code == 202 and r.json()["status"] == "queued"
    rid = r.json()["id"]
    from hub.services.runs import wait_for_run

    hub = api.app.state.hub
    me = (await api.get("/api/v1/me")).json()
    done = await wait_for_run(hub, workspace_id=me["workspace_id"], run_id=rid, timeout=10)
    assert done["status"] == "succeeded"
    assert (await api.get(f"/api/v1/runs/{rid}")).json()["result"] == {"text": "Hello, Cy!"}


async def test_list_filters_and_cursor_pagination(api) -> None:
    zid = await _zap(api)
    ids = []
    for i in range(5):
        r = await api.post(f"/api/v1/zaps/{zid}/runs?wait=10",
                           json={"input": {"name": str(i), "vip": i % 2 == 0}})
        ids.append(r.json()["id"])
    page = (await api.get("/api/v1/runs?limit=2")).json()
    seen = [r["id"] for r in page["items"]]
    while page["next_cursor"]:
        page = (await api.get(f"/api/v1/runs?limit=2&cursor={page['next_cursor']}")).json()
        seen += [r["id"] for r in page["items"]]
    assert seen == list(reversed(ids))
    filtered = (await api.get("/api/v1/runs?status=filtered")).json()["items"]
    assert len(filtered) == 2
    assert len((await api.get(f"/api/v1/runs?zap_id={zid}")).json()["items"]) == 5
    r = await api.get("/api/v1/runs?status=bogus")
    assert r.status_code == 400 and r.json()["code"] == "invalid_filter"
    r = await api.get("/api/v1/runs?limit=0")
    assert r.status_code == 422 and r.json()["code"] == "invalid_request"


async def test_cancel_and_rerun_rules(api) -> None:
    zid = await _zap(api)
    done = (await api.post(f"/api/v1/zaps/{zid}/runs?wait=10",
                           json={"input": {"name": "x", "vip": True}})).json()
    r = await api.post(f"/api/v1/runs/{done['id']}/cancel")
    assert r.status_code == 409 and r.json()["code"] == "run_not_cancellable"
    r = await api.post(f"/api/v1/runs/{done['id']}/rerun")
    assert r.status_code == 409 and r.json()["code"] == "run_not_rerunnable"
    for url in ("/api/v1/runs/run_nope", ):
        r = await api.get(url)
        assert r.status_code == 404 and r.json()["code"] == "run_not_found"
    r = await api.post("/api/v1/runs/run_nope/cancel")
    assert r.status_code == 404


async def test_failed_run_and_rerun_from_the_failed_step(api) -> None:
    doc = {"name": "fails", "trigger": {"kind": "manual"}, "steps": [
        {"id": "a", "use": "core.transform", "input": {"v": "{{ trigger.v }}"}},
        {"id": "b", "use": "core.transform", "input": {"n": "{{ abs(steps.a.v) }}"}}]}
    zid = await _zap(api, doc)
    run = (await api.post(f"/api/v1/zaps/{zid}/runs?wait=10", json={"input": {"v": "text"}})).json()
    assert run["status"] == "failed"
    assert run["error"]["code"] == "expression_error" and run["error"]["step_id"] == "b"
    r = await api.post(f"/api/v1/runs/{run['id']}/rerun")
    assert r.status_code == 202
    from hub.services.runs import wait_for_run

    me = (await api.get("/api/v1/me")).json()
    again = await wait_for_run(api.app.state.hub, workspace_id=me["workspace_id"],
                               run_id=run["id"], timeout=10)
    assert again["status"] == "failed" and again["round"] == 1
    # step a ran once; b has one attempt per round
    assert [(s["step_id"], s["round"]) for s in again["steps"]] == [("a", 0), ("b", 0), ("b", 1)]


async def test_run_input_errors(api) -> None:
    zid = await _zap(api)
    r = await api.post(f"/api/v1/zaps/{zid}/runs", content=b"{oops",
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"
    r = await api.post(f"/api/v1/zaps/{zid}/runs", json={"input": "x" * 1_100_000})
    # the API body cap (HUB_API_MAX_BODY, 1 MiB) answers before the run input's own limit
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"
    r = await api.post("/api/v1/zaps/zap_nope/runs", json={"input": {}})
    assert r.status_code == 404 and r.json()["code"] == "zap_not_found"
    r = await api.post(f"/api/v1/zaps/{zid}/runs?wait=-1", json={"input": {}})
    assert r.status_code == 422
    assert (await api.get("/api/v1/runs")).json()["items"] == []
