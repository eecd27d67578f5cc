"""API tokens for machines: read-only or limited to named zaps, expiring, used coarsely."""

from __future__ import annotations

import sqlalchemy as sa
from apiclient import Api
from test_api_zaps import ZAP

from hub.audit.tables import audit_log
from hub.store.tables import api_tokens


async def _zap(api: Api, name: str) -> str:
    r = await api.post("/api/v1/zaps", json={**ZAP, "name": name})
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def test_read_only_token(api: Api) -> None:
    zid = await _zap(api, "a")
    tok = (await api.post("/api/v1/tokens", json={"name": "ro", "read_only": True})).json()
    assert tok["scope"] == {"read_only": True}
    assert (await api.get(f"/api/v1/zaps/{zid}", token=tok["token"])).status_code == 200
    r = await api.post("/api/v1/zaps", token=tok["token"], json={**ZAP, "name": "b"})
    assert r.status_code == 403 and r.json()["code"] == "token_scope"
    r = await api.post("/api/v1/users", token=tok["token"], json={"email": "x@x.io"})
    assert r.status_code == 403 and r.json()["code"] == "token_scope"
    # a read-only token mints only read-only tokens
    child = (await api.post("/api/v1/tokens", token=tok["token"], json={"name": "c"})).json()
    assert child["scope"] == {"read_only": True}
    r = await api.post(f"/api/v1/zaps/{zid}/disable", token=child["token"])
    assert r.status_code == 403 and r.json()["code"] == "token_scope"


async def test_token_limited_to_named_zaps(api: Api) -> None:
    mine, other = await _zap(api, "mine"), await _zap(api, "other")
    r = await api.post("/api/v1/tokens", json={"name": "z", "zaps": [mine]})
    assert r.status_code == 201 and r.json()["scope"] == {"zaps": [mine]}
    tok = r.json()["token"]
    assert (await api.get(f"/api/v1/zaps/{mine}", token=tok)).status_code == 200
    run = await api.post(f"/api/v1/zaps/{mine}/runs?wait=10", token=tok,
                         json={"input": {"name": "a", "vip": True}})
    assert run.status_code in (200, 201, 202), run.text
    run_id = run.json()["id"]
    assert (await api.get(f"/api/v1/runs/{run_id}", token=tok)).status_code == 200
    other_run = (await api.post(f"/api/v1/zaps/{other}/runs?wait=10",
                                json={"input": {"vip": True}})).json()["id"]
    for url in (f"/api/v1/zaps/{other}", f"/api/v1/runs/{other_run}", "/api/v1/zaps",
                "/api/v1/connections", "/api/v1/users"):
        r = await api.get(url, token=tok)
        assert r.status_code == 403 and r.json()["code"] == "token_scope", url
    assert (await api.get("/api/v1/runs/run_nope", token=tok)).status_code == 404
    assert (await api.get("/api/v1/me", token=tok)).status_code == 200
    r = await api.post("/api/v1/tokens", json={"name": "bad", "zaps": ["zap_missing"]})
    assert r.status_code == 404 and r.json()["code"] == "zap_not_found"
    for bad in ({"name": "x", "zaps": ["a"] * 101}, {"name": "x", "zaps": [""]},
                {"name": "x", "zaps": "zap"}, {"name": "x", "read_only": "maybe"}):
        assert (await api.post("/api/v1/tokens", json=bad)).status_code == 422, bad


async def test_last_used_is_coarse_and_first_use_audited(api: Api) -> None:
    tok = (await api.post("/api/v1/tokens", json={"name": "m"})).json()
    hub = api.app.state.hub

    async def last_used() -> float | None:
        async with hub.db.read() as conn:
            return (await conn.execute(sa.select(api_tokens.c.last_used_at).where(
                api_tokens.c.id == tok["id"]))).scalar()

    assert await last_used() is None
    for _ in range(5):
        assert (await api.get("/api/v1/me", token=tok["token"])).status_code == 200
    first = await last_used()
    assert first is not None
    await api.get("/api/v1/me", token=tok["token"])
    assert await last_used() == first  # not a write per request
    async with hub.db.read() as conn:
        used = (await conn.execute(sa.select(sa.func.count()).select_from(audit_log).where(
            audit_log.c.action == "token.used",
            audit_log.c.target_id == tok["id"]))).scalar()
    assert used == 1
