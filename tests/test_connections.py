"""Connections over the API and the service on both backends: check, mask, update, delete."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from apiclient import Api
from vaulthelp import OTHER_SECRET, SECRET, VALUES, echo_zap, load_vault_plugin

from hub.context import Hub
from hub.errors import BadRequest, HubError, NotFound
from hub.services import connections as svc
from hub.services import identity
from hub.vault.tables import connections, data_keys
from plugins import vault_fixtures as vf

URL = "/api/v1/connections"


@pytest.fixture(autouse=True)
def _plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    load_vault_plugin(monkeypatch)


async def _rows_text(hub: Hub) -> str:
    """Everything stored about connections, as text (to search for secrets)."""
    async with hub.db.read() as conn:
        rows = [*(await conn.execute(sa.select(connections))).all(),
                *(await conn.execute(sa.select(data_keys))).all()]
    return repr(rows)


async def test_create_show_list_mask_secrets(api: Api) -> None:
    r = await api.post(URL, json={"connector": "vlt", "name": "main", "values": VALUES})
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["fields"] == {"api_key": "**********", "region": "eu"}
    assert created["status"] == "active" and created["last_check"]["ok"] is True
    shown = await api.get(f"{URL}/{created['id']}")
    by_name = await api.get(f"{URL}/main")
    listed = await api.get(URL)
    assert shown.json()["fields"]["api_key"] == "**********"
    assert by_name.json()["id"] == created["id"]
    assert [c["name"] for c in listed.json()] == ["main"]
    for resp in (r, shown, by_name, listed):
        assert SECRET not in resp.text
    hub: Hub = api.app.state.hub
    stored = await _rows_text(hub)
    assert SECRET not in stored and "sk-live" not in stored
    creds = await svc.get_credentials(hub, workspace_id=await _ws(api), name="main")
    assert isinstance(creds, vf.VaultCredentials)
    assert creds.api_key.get_secret_value() == SECRET and creds.region == "eu"


async def _ws(api: Api) -> str:
    return (await api.get("/api/v1/me")).json()["workspace_id"]


@pytest.mark.parametrize(("values", "status", "code"), [
    ({"api_key": vf.BAD_KEY, "region": "eu"}, 400, "invalid_auth"),
    ({"api_key": SECRET, "region": "down"}, 424, "cannot_connect"),
    ({"api_key": SECRET, "region": "boom"}, 424, "unknown"),
    ({"api_key": SECRET}, 400, "invalid_credentials"),
    ({"api_key": SECRET, "region": "eu", "extra": 1}, 400, "invalid_credentials"),
])
async def test_check_failures_store_nothing(api: Api, values: dict, status: int,
                                            code: str) -> None:
    r = await api.post(URL, json={"connector": "vlt", "name": "main", "values": values})
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["code"] == code
    assert SECRET not in r.text and vf.BAD_KEY not in r.text
    assert (await api.get(URL)).json() == []
    assert "sk-" not in await _rows_text(api.app.state.hub)


async def test_bad_requests(api: Api) -> None:
    body = {"connector": "vlt", "name": "main", "values": VALUES}
    assert (await api.post(URL, json=body)).status_code == 201
    cases = [
        ({**body}, 409, "connection_name_taken"),
        ({**body, "connector": "nope", "name": "x"}, 404, "connector_not_found"),
        ({**body, "connector": "core", "name": "x"}, 400, "connection_not_needed"),
        ({**body, "name": "bad\nname"}, 400, "invalid_connection_name"),
    ]
    for case, status, code in cases:
        r = await api.post(URL, json=case)
        assert (r.status_code, r.json()["code"]) == (status, code), r.text
    r = await api.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500
    assert (await api.get(f"{URL}/missing")).json()["code"] == "connection_not_found"
    assert (await api.delete(f"{URL}/missing")).status_code == 404
    assert len((await api.get(URL)).json()) == 1


async def test_roles(api: Api) -> None:
    assert (await api.post(URL, json={"connector": "vlt", "name": "main",
                                      "values": VALUES})).status_code == 201
    viewer = (await api.post("/api/v1/users", json={"email": "v@x.io", "role": "viewer"})).json()
    tok = viewer["token"]
    assert (await api.get(URL, token=tok)).status_code == 200
    shown = await api.get(f"{URL}/main", token=tok)
    assert shown.status_code == 200 and SECRET not in shown.text
    denied = [await api.post(URL, token=tok, json={"connector": "vlt", "name": "b",
                                                   "values": VALUES}),
              await api.client.patch(f"{URL}/main", headers=api.auth(tok),
                                     json={"values": {"region": "us"}}),
              await api.post(f"{URL}/main/test", token=tok),
              await api.delete(f"{URL}/main", token=tok)]
    assert [r.status_code for r in denied] == [403] * 4
    assert (await api.get(URL, token="zh_wrong")).status_code == 401


async def test_update_and_test_again(api: Api) -> None:
    await api.post(URL, json={"connector": "vlt", "name": "main", "values": VALUES})
    r = await api.client.patch(f"{URL}/main", headers=api.auth(),
                               json={"values": {"region": "us"}})
    assert r.status_code == 200 and r.json()["fields"] == {"api_key": "**********",
                                                           "region": "us"}
    bad = await api.client.patch(f"{URL}/main", headers=api.auth(),
                                 json={"values": {"api_key": vf.BAD_KEY}})
    assert bad.status_code == 400 and bad.json()["code"] == "invalid_auth"
    hub: Hub = api.app.state.hub
    creds = await svc.get_credentials(hub, workspace_id=await _ws(api), name="main")
    assert creds.api_key.get_secret_value() == SECRET and creds.region == "us"
    ok = await api.post(f"{URL}/main/test")
    assert ok.status_code == 200 and ok.json()["ok"] is True
    await svc.update_secrets(hub, workspace_id=await _ws(api), connection_id="main",
                             values={"region": "down"})
    failed = (await api.post(f"{URL}/main/test")).json()
    assert failed["ok"] is False and failed["code"] == "cannot_connect"
    assert (await api.get(f"{URL}/main")).json()["last_check"]["code"] == "cannot_connect"


async def test_delete_refused_while_a_zap_uses_it(api: Api) -> None:
    await api.post(URL, json={"connector": "vlt", "name": "main", "values": VALUES})
    zap = (await api.post("/api/v1/zaps", json=echo_zap("user-a"))).json()
    await api.post("/api/v1/zaps", json=echo_zap("user-b"))
    r = await api.delete(f"{URL}/main")
    assert r.status_code == 409 and r.json()["code"] == "connection_in_use"
    assert r.json()["zaps"] == ["user-a", "user-b"]
    assert (await api.delete(f"/api/v1/zaps/{zap['id']}")).status_code == 204
    other = (await api.get("/api/v1/zaps")).json()[0]
    await api.put(f"/api/v1/zaps/{other['id']}", json={
        "name": "user-b", "trigger": {"kind": "manual"},
        "steps": [{"id": "t", "use": "core.transform", "input": {"x": 1}}]})
    assert (await api.delete(f"{URL}/main")).status_code == 204
    assert (await api.get(URL)).json() == []
    async with api.app.state.hub.db.read() as conn:
        kinds = (await conn.execute(sa.select(data_keys.c.purpose))).scalars().all()
    assert "connection" not in kinds  # its data key went with it


async def test_get_credentials_errors(hub: Hub, owner: identity.Principal) -> None:
    ws = owner.workspace_id
    made = await svc.create_connection(hub, workspace_id=ws, connector="vlt", name="main",
                                       values=VALUES)
    with pytest.raises(NotFound) as nf:
        await svc.get_credentials(hub, workspace_id=ws, name="other")
    assert nf.value.code == "connection_not_found"
    with pytest.raises(BadRequest) as mm:
        await svc.get_credentials(hub, workspace_id=ws, name="main", connector="core")
    assert mm.value.code == "connection_mismatch"
    other_ws = await identity.create_workspace(hub, name="B", owner_email="b@x.io")
    with pytest.raises(NotFound):
        await svc.get_credentials(hub, workspace_id=other_ws["workspace_id"], name="main")
    await svc.mark_needs_reauth(hub, workspace_id=ws, connection_id=made["id"])
    with pytest.raises(HubError) as ra:
        await svc.get_credentials(hub, workspace_id=ws, name="main", connector="vlt")
    assert (ra.value.code, ra.value.status) == ("needs_reauth", 409)
    await svc.update_secrets(hub, workspace_id=ws, connection_id=made["id"],
                             values={"api_key": OTHER_SECRET})
    creds = await svc.get_credentials(hub, workspace_id=ws, name="main", connector="vlt")
    assert creds.api_key.get_secret_value() == OTHER_SECRET and creds.region == "eu"
    assert json.dumps(await svc.get_connection(hub, workspace_id=ws,
                                                connection_id="main")).count("*") == 10
