"""Connection policies (roles, named zaps, owners' roles), connections in use, webhook secrets."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from apiclient import Api
from test_webhook_support import webhook_zap
from vaulthelp import VALUES, echo_zap, load_vault_plugin

from hub.audit.tables import audit_log

URL = "/api/v1/connections"


@pytest.fixture(autouse=True)
def _plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_vault_plugin(monkeypatch)


async def _main(api: Api) -> None:
    r = await api.post(URL, json={"connector": "vlt", "name": "main", "values": VALUES})
    assert r.status_code == 201, r.text


async def _policy(api: Api, body: dict, token: str | None = None):  # type: ignore[no-untyped-def]
    return await api.put(f"{URL}/main/policy", token=token, json=body)


async def _editor(api: Api, email: str = "ed@x.io") -> dict:
    return (await api.post("/api/v1/users", json={"email": email, "role": "editor"})).json()


async def test_save_is_refused_by_role_and_zap_name(api: Api) -> None:
    await _main(api)
    editor = await _editor(api)
    r = await _policy(api, {"roles": ["admin", "owner"]}, token=editor["token"])
    assert r.status_code == 403  # only admins set policies
    assert (await _policy(api, {"roles": ["admin", "owner"]})).status_code == 200
    r = await api.post("/api/v1/zaps", token=editor["token"], json=echo_zap())
    assert r.status_code == 403 and r.json()["code"] == "connection_forbidden"
    assert (await api.post("/api/v1/zaps", json=echo_zap())).status_code == 201
    assert (await _policy(api, {"zaps": ["allowed"]})).status_code == 200
    r = await api.post("/api/v1/zaps", json=echo_zap(name="other"))
    assert r.status_code == 403 and r.json()["code"] == "connection_forbidden"
    r = await api.post("/api/v1/zaps", token=editor["token"], json=echo_zap(name="allowed"))
    assert r.status_code == 201
    detail = (await api.get(f"{URL}/main")).json()
    assert detail["policy"] == {"zaps": ["allowed"]}
    for bad in ({"roles": ["god"]}, {"zaps": "x"}, {"other": 1}, {"roles": ["viewer"] * 6}):
        assert (await _policy(api, bad)).status_code == 422, bad
    assert (await _policy(api, {}, token=None)).json()["policy"] is None
    async with api.app.state.hub.db.read() as conn:
        actions = list((await conn.execute(sa.select(audit_log.c.action))).scalars())
    assert actions.count("connection.policy_changed") == 3


async def test_a_run_checks_the_policy_again(api: Api) -> None:
    await _main(api)
    editor = await _editor(api)
    zap = (await api.post("/api/v1/zaps", token=editor["token"], json=echo_zap())).json()
    ok = (await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10",
                         json={"input": {"text": "hi"}})).json()
    assert ok["status"] == "succeeded", ok
    assert (await _policy(api, {"owner_roles": ["admin", "owner"]})).status_code == 200
    run = (await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10",
                          json={"input": {"text": "hi"}})).json()
    assert run["status"] == "failed"
    assert run["steps"][-1]["error"]["code"] == "connection_forbidden"
    assert (await _policy(api, {"roles": ["owner"]})).status_code == 200
    run = (await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10", token=editor["token"],
                          json={"input": {"text": "hi"}})).json()
    assert run["steps"][-1]["error"]["code"] == "connection_forbidden"
    run = (await api.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10",
                          json={"input": {"text": "hi"}})).json()
    assert run["status"] == "succeeded"  # the owner may, whoever saved the zap


async def test_deleting_a_connection_in_use_lists_its_users(api: Api) -> None:
    await _main(api)
    assert (await api.post("/api/v1/zaps", json=echo_zap(name="uses-it"))).status_code == 201
    r = await api.put("/api/v1/ai/models/m1", json={
        "provider": "openai_compat", "config": {"model": "gpt-4o-mini"}, "connection": "main"})
    assert r.status_code == 200, r.text
    r = await api.delete(f"{URL}/main")
    assert r.status_code == 409 and r.json()["code"] == "connection_in_use"
    assert (r.json()["zaps"], r.json()["models"]) == (["uses-it"], ["m1"])
    assert "zap 'uses-it'" in r.json()["detail"] and "AI model 'm1'" in r.json()["detail"]


async def test_webhook_naming_a_missing_secret_is_refused(api: Api) -> None:
    r = await api.post("/api/v1/zaps", json=webhook_zap(signature="github",
                                                        connection="nope"))
    assert r.status_code == 422 and r.json()["code"] == "connection_not_found"
    assert (await api.get("/api/v1/zaps")).json() == []
