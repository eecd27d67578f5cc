"""Runs carry the identity they act for: the API caller, or the zap's owner when triggered."""

from __future__ import annotations

from apiclient import Api
from test_api_zaps import ZAP
from test_webhook_support import webhook_zap


async def test_api_runs_act_for_the_caller(api: Api) -> None:
    editor = (await api.post("/api/v1/users", json={"email": "ed@x.io", "role": "editor"})).json()
    zid = (await api.post("/api/v1/zaps", json=ZAP)).json()["id"]
    run = (await api.post(f"/api/v1/zaps/{zid}/runs?wait=10", token=editor["token"],
                          json={"input": {"name": "a", "vip": True}})).json()
    assert run["started_by"] == editor["id"] and run["started_by_email"] == "ed@x.io"
    listed = (await api.get("/api/v1/runs")).json()["items"]
    assert listed[0]["started_by"] == editor["id"]


async def test_webhook_runs_act_for_the_zaps_owner(api: Api) -> None:
    editor = (await api.post("/api/v1/users", json={"email": "own@x.io", "role": "editor"})).json()
    made = await api.post("/api/v1/zaps", token=editor["token"], json=webhook_zap())
    zid = made.json()["id"]
    path = (await api.get(f"/api/v1/zaps/{zid}")).json()["webhook"]["path"]
    r = await api.client.post(path, json={"n": 1})
    assert r.status_code in (200, 202), r.text
    runs = (await api.get(f"/api/v1/runs?zap_id={zid}")).json()["items"]
    assert runs and runs[0]["started_by"] == editor["id"]
    detail = (await api.get(f"/api/v1/runs/{runs[0]['id']}")).json()
    assert detail["started_by_email"] == "own@x.io"
