"""Web app pages over ASGI: rendering, sign-in redirect, roles, CSRF, offline API docs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest
from apiclient import Api

from hub.services.auth import open_session

ZAP = {"name": "hello", "trigger": {"kind": "manual"},
       "steps": [{"id": "t", "use": "core.transform", "input": {"value": "{{ trigger.x }}"}}]}


@pytest.fixture(autouse=True)
def browser_like(api: Api) -> None:
    """Requests ask for HTML, as a browser does (other clients get problem+json errors)."""
    api.client.headers["Accept"] = "text/html,application/xhtml+xml,*/*;q=0.8"


@pytest.fixture
async def session(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client signed in as the owner with a session cookie (no API token):
    its forms need the session's CSRF token."""
    me = (await api.get("/api/v1/me")).json()
    hub = api.app.state.hub
    async with hub.db.write() as conn:
        signed = await open_session(conn, hub, me["user_id"], me["workspace_id"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=api.app),
                                 base_url="http://hub.test",
                                 cookies={"zh_session": signed.cookie},
                                 headers={"Accept": "text/html"}) as client:
        yield client


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([0-9a-f]{64})"', html)
    assert found, "no CSRF field in the page"
    return found.group(1)


async def viewer_token(api: Api) -> str:
    made = await api.post("/api/v1/users", json={"email": "v@example.test", "role": "viewer"})
    assert made.status_code == 201, made.text
    tok = await api.post("/api/v1/tokens", json={"name": "v", "user_id": made.json()["id"]})
    assert tok.status_code == 201, tok.text
    return tok.json()["token"]


async def test_root_redirects_to_sign_in_without_credentials(api: Api) -> None:
    res = await api.client.get("/runs?status=failed")
    assert res.status_code == 303
    assert res.headers["location"] == "/sign-in?next=/runs%3Fstatus%3Dfailed"
    bad = await api.client.get("/", headers={"Authorization": "Bearer zh_nope"})
    assert bad.status_code == 303
    page = await api.client.get("/sign-in")
    assert page.status_code == 200 and "<h1>Sign in</h1>" in page.text


async def test_dashboard_and_lists_render(api: Api) -> None:
    made = await api.post("/api/v1/zaps", json=ZAP)
    assert made.status_code == 201
    run = await api.post(f"/api/v1/zaps/{made.json()['id']}/runs?wait=10", json={"input": {"x": 1}})
    assert run.json()["status"] == "succeeded"
    home = await api.get("/")
    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]
    assert "default-src 'self'" in home.headers["content-security-policy"]
    assert run.json()["id"] in home.text and "succeeded" in home.text
    assert 'href="/zaps/new"' in home.text
    listed = await api.get("/runs", params={"status": "succeeded", "period": "1h"})
    assert run.json()["id"] in listed.text
    none = await api.get("/runs", params={"status": "failed"})
    assert run.json()["id"] not in none.text
    zaps = await api.get("/zaps")
    assert ">hello</a>" in zaps.text


@pytest.mark.parametrize("query", ["status=bogus", "period=forever"])
async def test_bad_filters_are_a_clear_page_error(api: Api, query: str) -> None:
    res = await api.get(f"/runs?{query}")
    assert res.status_code == 400
    assert "text/html" in res.headers["content-type"]
    assert "invalid_filter" in res.text


async def test_viewer_sees_no_edit_buttons(api: Api) -> None:
    token = await viewer_token(api)
    home = await api.get("/", token=token)
    assert home.status_code == 200
    assert 'href="/zaps/new"' not in home.text


async def test_api_errors_stay_json(api: Api) -> None:
    res = await api.get("/api/v1/zaps/zap_nope")
    assert res.headers["content-type"] == "application/problem+json"


async def test_docs_and_redoc_are_served_offline(api: Api) -> None:
    docs = await api.client.get("/docs")
    assert docs.status_code == 200
    assert "cdn" not in docs.text.lower() and "/ui/docs-assets/swagger-ui-bundle.js" in docs.text
    redoc = await api.client.get("/redoc")
    assert "/ui/docs-assets/redoc.standalone.js" in redoc.text
    assert "fonts.googleapis" not in redoc.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"):
        res = await api.client.get(f"/ui/docs-assets/{asset}")
        assert res.status_code == 200 and len(res.content) > 10_000
    css = await api.client.get("/ui/static/hub.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]


async def test_hostile_input_gets_clear_page_errors(api: Api) -> None:
    page = await api.get("/zaps/new")
    token = csrf_of(page.text)
    huge = await api.post("/zaps/new", content=b"csrf_token=" + b"a" * 1_100_000,
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert huge.status_code == 413 and "payload_too_large" in huge.text
    many = "&".join(f"f{i}=1" for i in range(3000))
    res = await api.post("/zaps/new", content=f"csrf_token={token}&{many}".encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert res.status_code == 400 and "malformed_form" in res.text
    res = await api.post("/zaps/new", content=b"csrf_token=\xff\xfe",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert res.status_code == 400 and "malformed_form" in res.text
    res = await api.post("/zaps/new", data={"csrf_token": token, "step_count": "99999999",
                                            "op": "refresh"})
    assert res.status_code == 200 and res.text.count('name="steps[') < 500 * 20
    res = await api.get("/runs?status=" + "x" * 100)
    assert res.status_code == 422 and "text/html" in res.headers["content-type"]
    res = await api.get("/zaps/" + "z" * 5000)
    assert res.status_code == 404 and "zap_not_found" in res.text
