"""Every route, generated from the app's route table, called as every role, anonymously and
from another workspace with this workspace's ids.

A route must declare its permission (``hub.web.deps.need`` or ``PUBLIC``); a role without it
gets 403, a role with it never does; anonymous callers get 401; another workspace's objects are
404, never 403. A new route is covered (and must declare a permission) without editing this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apiclient import Api
from test_api_zaps import ZAP
from test_tables_api import NOTES

from hub.permissions import ROLES
from hub.services import identity
from hub.web.openapi import _api_routes, permissions_of

PARAM = re.compile(r"{([a-z_]+)(?::path)?}")
#: routes whose own rules (beyond the route's permission) refuse some members
DESTRUCTIVE = ("DELETE",)


@dataclass
class Caller:
    role: str
    token: str
    user_id: str
    spare_token: str = ""
    victim: str = ""
    ids: dict[str, str] = field(default_factory=dict)


def _routes(api: Api) -> list[tuple[str, str, set[str]]]:
    out = []
    for path, methods, dependant in _api_routes(api.app.routes):
        for method in sorted(methods - {"HEAD"}):
            out.append((method, path, permissions_of(dependant)))
    # writes that remove things last, so each caller's earlier calls find their objects
    return sorted(out, key=lambda r: (r[0] in DESTRUCTIVE, r[1], r[0]))


async def _member(api: Api, role: str) -> Caller:
    if role == "owner":
        me = (await api.get("/api/v1/me")).json()
        caller = Caller(role, api.token, me["user_id"])
    else:
        r = await api.post("/api/v1/users", json={"email": f"{role}@x.io", "role": role})
        caller = Caller(role, r.json()["token"], r.json()["id"])
    spare = (await api.post("/api/v1/tokens", token=caller.token, json={"name": "spare"}))
    caller.spare_token = spare.json()["id"]
    victim = await api.post("/api/v1/users", json={"email": f"victim-{role}@x.io"})
    caller.victim = victim.json()["id"]
    return caller


async def _objects(api: Api) -> dict[str, str]:
    """Real objects of the first workspace, by path parameter name."""
    zap = (await api.post("/api/v1/zaps", json=ZAP)).json()["id"]
    run = (await api.post(f"/api/v1/zaps/{zap}/runs?wait=10",
                          json={"input": {"name": "a", "vip": True}})).json()["id"]
    assert (await api.post("/api/v1/tables", json=NOTES)).status_code == 201
    await api.put("/api/v1/tables/notes/rows/k1", json={"values": {"body": "x"}})
    invitation = (await api.post("/api/v1/invitations", json={"email": "i@x.io"})).json()["id"]
    return {"zap_id": zap, "run_id": run, "table": "notes", "key": "k1", "version": "1",
            "invitation_id": invitation, "connection": "main", "name": "default"}


def _url(path: str, method: str, ids: dict[str, str], caller: Caller | None) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if caller is not None and name == "user_id":
            return caller.victim if method == "DELETE" else caller.user_id
        if caller is not None and name == "token_id":
            return caller.spare_token
        return ids.get(name, "nope")

    return PARAM.sub(fill, path)


async def _call(api: Api, method: str, url: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    body = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
    return await api.client.request(method, url, headers=headers, **body)


def _allowed(role: str, permissions: set[str]) -> bool:
    who = identity.Principal("ws", "usr", role)
    return all(p == "public" or who.can(p) for p in permissions)


async def test_every_route_declares_a_permission(api: Api) -> None:
    missing = [(m, p) for m, p, perms in _routes(api) if not perms]
    assert missing == [], f"routes without a declared permission: {missing}"


async def test_every_route_as_every_role(api: Api) -> None:
    ids = await _objects(api)
    callers = [await _member(api, role) for role in ROLES]
    other = await identity.create_workspace(api.app.state.hub, name="B", owner_email="b@b.io")
    routes = _routes(api)
    for method, path, perms in routes:
        if "public" in perms or not path.startswith("/api/v1"):
            continue
        r = await _call(api, method, _url(path, method, ids, None), None)
        assert r.status_code == 401, (method, path, r.status_code)
        r = await _call(api, method, _url(path, method, ids, None), other["token"])
        assert r.status_code != 403, (method, path, r.text)
        if PARAM.search(path) and method in ("GET", "DELETE"):
            assert r.status_code == 404, (method, path, r.status_code, r.text)
    checked = {True: 0, False: 0}
    for caller in callers:
        for method, path, perms in routes:
            if "public" in perms:
                continue
            r = await _call(api, method, _url(path, method, ids, caller), caller.token)
            allowed = _allowed(caller.role, perms)
            checked[allowed] += 1
            if allowed:
                assert r.status_code not in (401, 403), (caller.role, method, path, r.text)
            else:
                assert r.status_code == 403, (caller.role, method, path, r.status_code)
                assert r.json()["code"] == "insufficient_role"
    assert checked[True] > 250 and checked[False] > 80, checked
