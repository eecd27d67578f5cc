"""Nobody acts above their role: tokens, roles and users of higher roles are out of reach (403
``insufficient_role``), and objects of other workspaces are not found (404)."""

from __future__ import annotations

from typing import Any

import pytest
from apiclient import Api

from hub.services import identity


async def _user(api: Api, role: str, email: str) -> dict[str, Any]:
    r = await api.post("/api/v1/users", json={"email": email, "role": role})
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture
async def people(api: Api) -> dict[str, dict[str, Any]]:
    me = (await api.get("/api/v1/me")).json()
    owner = {"id": me["user_id"], "token": api.token, "role": "owner"}
    return {"owner": owner, "admin": await _user(api, "admin", "a@x.io"),
            "admin2": await _user(api, "admin", "a2@x.io"),
            "editor": await _user(api, "editor", "e@x.io"),
            "viewer": await _user(api, "viewer", "v@x.io")}


def _refused(r: Any) -> None:
    assert r.status_code == 403 and r.json()["code"] == "insufficient_role", r.text


async def _role(api: Api, user_id: str) -> str:
    users = (await api.get("/api/v1/users")).json()
    return next(u["role"] for u in users if u["id"] == user_id)


async def test_admin_cannot_mint_or_revoke_owner_tokens(api: Api, people: Any) -> None:
    admin, owner = people["admin"], people["owner"]
    _refused(await api.post("/api/v1/tokens", token=admin["token"],
                            json={"name": "x", "user_id": owner["id"]}))
    owner_token = (await api.post("/api/v1/tokens", json={"name": "ci"})).json()
    _refused(await api.delete(f"/api/v1/tokens/{owner_token['id']}", token=admin["token"]))
    assert (await api.get("/api/v1/me", token=owner_token["token"])).status_code == 200
    listed = (await api.get("/api/v1/tokens", token=admin["token"])).json()
    assert owner["id"] not in {t["user_id"] for t in listed}  # not even listed
    assert {people[k]["id"] for k in ("admin", "admin2", "editor")} <= {
        t["user_id"] for t in listed}
    everyone = (await api.get("/api/v1/tokens")).json()  # the owner sees all
    assert owner_token["id"] in {t["id"] for t in everyone}


async def test_admins_act_on_their_own_level_and_below(api: Api, people: Any) -> None:
    admin = people["admin"]
    for who in ("admin2", "editor", "viewer"):
        made = await api.post("/api/v1/tokens", token=admin["token"],
                              json={"name": "x", "user_id": people[who]["id"]})
        assert made.status_code == 201, made.text
        assert (await api.delete(f"/api/v1/tokens/{made.json()['id']}",
                                 token=admin["token"])).status_code == 204


async def test_no_path_to_the_owner_role(api: Api, people: Any) -> None:
    admin, owner = people["admin"], people["owner"]
    patch = api.client.patch
    for user in (admin, people["editor"]):  # promote self or another to owner
        _refused(await patch(f"/api/v1/users/{user['id']}", json={"role": "owner"},
                             headers=api.auth(admin["token"])))
    _refused(await patch(f"/api/v1/users/{owner['id']}", json={"role": "viewer"},
                         headers=api.auth(admin["token"])))  # demote the owner
    _refused(await patch(f"/api/v1/users/{owner['id']}", json={"role": "admin"},
                         headers=api.auth(admin["token"])))
    _refused(await api.client.delete(f"/api/v1/users/{owner['id']}",
                                     headers=api.auth(admin["token"])))
    _refused(await api.post("/api/v1/users", token=admin["token"],
                            json={"email": "o2@x.io", "role": "owner"}))
    assert await _role(api, owner["id"]) == "owner" and await _role(api, admin["id"]) == "admin"


async def test_lower_roles_reach_nobody_else(api: Api, people: Any) -> None:
    editor, viewer = people["editor"], people["viewer"]
    for actor in (editor, viewer):
        for target in ("viewer", "editor", "owner"):
            if people[target] is actor:
                continue
            _refused(await api.post("/api/v1/tokens", token=actor["token"],
                                    json={"name": "x", "user_id": people[target]["id"]}))
        _refused(await api.client.patch(f"/api/v1/users/{actor['id']}", json={"role": "admin"},
                                        headers=api.auth(actor["token"])))
        listed = (await api.get("/api/v1/tokens", token=actor["token"])).json()
        assert {t["user_id"] for t in listed} == {actor["id"]}
    admin_tokens = (await api.get("/api/v1/tokens", token=people["admin"]["token"])).json()
    _refused(await api.delete(f"/api/v1/tokens/{admin_tokens[0]['id']}",
                              token=editor["token"]))
    own = (await api.post("/api/v1/tokens", token=viewer["token"], json={"name": "mine"}))
    assert own.status_code == 201
    assert (await api.delete(f"/api/v1/tokens/{own.json()['id']}",
                             token=viewer["token"])).status_code == 204


async def test_deleted_users_get_no_new_tokens(api: Api, people: Any) -> None:
    gone = people["editor"]
    assert (await api.client.delete(f"/api/v1/users/{gone['id']}",
                                     headers=api.auth())).status_code == 204
    r = await api.post("/api/v1/tokens", json={"name": "x", "user_id": gone["id"]})
    assert r.status_code == 404 and r.json()["code"] == "user_not_found"
    assert (await api.get("/api/v1/me", token=gone["token"])).status_code == 401


async def test_other_workspaces_are_not_found(api: Api, people: Any) -> None:
    hub = api.app.state.hub
    other = await identity.create_workspace(hub, name="Other", owner_email="o@other.io")
    theirs = (await api.get("/api/v1/tokens", token=other["token"])).json()[0]
    for actor in (people["owner"]["token"], people["admin"]["token"]):
        r = await api.post("/api/v1/tokens", token=actor,
                           json={"name": "x", "user_id": other["user_id"]})
        assert r.status_code == 404 and r.json()["code"] == "user_not_found"
        r = await api.delete(f"/api/v1/tokens/{theirs['id']}", token=actor)
        assert r.status_code == 404 and r.json()["code"] == "token_not_found"
        r = await api.client.patch(f"/api/v1/users/{other['user_id']}", json={"role": "viewer"},
                                   headers=api.auth(actor))
        assert r.status_code == 404
        r = await api.client.delete(f"/api/v1/users/{other['user_id']}",
                                    headers=api.auth(actor))
        assert r.status_code == 404
