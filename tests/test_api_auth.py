"""Identity over the API: tokens, roles, workspace isolation; health and metrics."""

from __future__ import annotations

from test_api_zaps import ZAP

from hub.services import identity


async def test_every_api_route_needs_a_token(api) -> None:
    for method, url in (("GET", "/api/v1/zaps"), ("POST", "/api/v1/zaps"),
                        ("GET", "/api/v1/runs"), ("GET", "/api/v1/plugins"),
                        ("GET", "/api/v1/me"), ("GET", "/api/v1/tokens")):
        for headers in ({}, {"Authorization": "Bearer zh_wrong"},
                        {"Authorization": "Basic abc"}, {"Authorization": f"Bearer {'x' * 5000}"}):
            r = await api.client.request(method, url, headers=headers, json={})
            assert r.status_code == 401, (method, url, headers)
            assert r.json()["code"] == "invalid_token"
            assert r.headers["www-authenticate"] == "Bearer"


async def test_setup_token_is_the_owner(api) -> None:
    me = (await api.get("/api/v1/me")).json()
    assert me["role"] == "owner"
    users = (await api.get("/api/v1/users")).json()
    assert [u["email"] for u in users] == ["owner@localhost"]


async def test_roles(api) -> None:
    viewer = (await api.post("/api/v1/users", json={"email": "v@x.io", "role": "viewer"})).json()
    editor = (await api.post("/api/v1/users", json={"email": "e@x.io", "role": "editor"})).json()
    assert viewer["token"].startswith("zh_")
    r = await api.post("/api/v1/zaps", token=viewer["token"], json=ZAP)
    assert r.status_code == 403 and r.json()["code"] == "insufficient_role"
    assert (await api.get("/api/v1/zaps", token=viewer["token"])).status_code == 200
    assert (await api.post("/api/v1/zaps", token=editor["token"], json=ZAP)).status_code == 201
    r = await api.post("/api/v1/users", token=editor["token"], json={"email": "z@x.io"})
    assert r.status_code == 403
    r = await api.post("/api/v1/users", json={"email": "v@x.io"})
    assert r.status_code == 409 and r.json()["code"] == "user_exists"
    r = await api.post("/api/v1/users", json={"email": "bad", "role": "viewer"})
    assert r.status_code == 422
    me = (await api.get("/api/v1/me")).json()
    r = await api.client.patch(f"/api/v1/users/{me['user_id']}", json={"role": "viewer"},
                               headers=api.auth())
    assert r.status_code == 409 and r.json()["code"] == "last_owner"


async def test_tokens_shown_once_hashed_and_revocable(api) -> None:
    r = await api.post("/api/v1/tokens", json={"name": "ci"})
    assert r.status_code == 201
    new = r.json()
    assert (await api.get("/api/v1/me", token=new["token"])).status_code == 200
    listed = (await api.get("/api/v1/tokens")).json()
    assert all("token" not in t for t in listed)
    assert new["token"] not in str(listed)
    hub = api.app.state.hub
    async with hub.db.read() as conn:
        import sqlalchemy as sa

        from hub.store.tables import api_tokens
        stored = [r.token_hash for r in await conn.execute(sa.select(api_tokens.c.token_hash))]
    assert new["token"] not in stored and identity.hash_token(new["token"]) in stored
    assert (await api.delete(f"/api/v1/tokens/{new['id']}")).status_code == 204
    assert (await api.get("/api/v1/me", token=new["token"])).status_code == 401


async def test_expired_token(api) -> None:
    new = (await api.post("/api/v1/tokens", json={"name": "short", "expires_in": 0.001})).json()
    import asyncio

    await asyncio.sleep(0.01)
    assert (await api.get("/api/v1/me", token=new["token"])).status_code == 401


async def test_workspaces_are_isolated(api) -> None:
    hub = api.app.state.hub
    other = await identity.create_workspace(hub, name="Other", owner_email="o@other.io")
    zid = (await api.post("/api/v1/zaps", json=ZAP)).json()["id"]
    run = (await api.post(f"/api/v1/zaps/{zid}/runs?wait=10",
                          json={"input": {"name": "a", "vip": True}})).json()
    tok = other["token"]
    assert (await api.get("/api/v1/zaps", token=tok)).json() == []
    assert (await api.get("/api/v1/runs", token=tok)).json()["items"] == []
    for url in (f"/api/v1/zaps/{zid}", f"/api/v1/runs/{run['id']}",
                f"/api/v1/zaps/{zid}/versions"):
        r = await api.get(url, token=tok)
        assert r.status_code == 404, url
    for url in (f"/api/v1/zaps/{zid}/runs", f"/api/v1/runs/{run['id']}/rerun",
                f"/api/v1/zaps/{zid}/disable"):
        assert (await api.post(url, token=tok, json={"input": {}})).status_code == 404, url
    assert (await api.delete(f"/api/v1/zaps/{zid}", token=tok)).status_code == 404
    assert (await api.get(f"/api/v1/zaps/{zid}")).json()["enabled"] is True
    # the same name may exist in both workspaces
    assert (await api.post("/api/v1/zaps", token=tok, json=ZAP)).status_code == 201


async def test_health_metrics_plugins_and_unknown_routes(api) -> None:
    h = (await api.client.get("/healthz")).json()
    assert h["status"] == "ok" and h["worker"] is True
    zid = (await api.post("/api/v1/zaps", json=ZAP)).json()["id"]
    await api.post(f"/api/v1/zaps/{zid}/runs?wait=10", json={"input": {"vip": True}})
    text = (await api.client.get("/metrics")).text
    assert 'hub_runs{status="succeeded"} 1.0' in text
    assert "hub_queue_depth" in text and "hub_step_duration_seconds_bucket" in text
    plugins = (await api.get("/api/v1/plugins")).json()
    core = next(p for p in plugins if p["name"] == "core")
    assert core["registered"]["connectors"] == ["core"]
    r = await api.client.get("/nope")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = await api.client.delete("/healthz")
    assert r.status_code == 405 and r.json()["code"] == "method_not_allowed"
