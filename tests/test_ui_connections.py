"""Connection pages over ASGI: a credentials form from the connector's schema, checked
before saving; errors next to fields; secrets never shown; test; delete refused while used."""

from __future__ import annotations

import httpx
from apiclient import Api
from test_ui_pages import browser_like, csrf_of, session, viewer_token  # noqa: F401

SECRET = "whsec_test_4f1c9a7b2d8e6f3a1b0c"


async def test_create_test_and_delete(api: Api) -> None:
    page = await api.get("/connections/new?connector=webhook_secret")
    assert page.status_code == 200
    assert 'type="password" id="f-values-secret"' in page.text
    token = csrf_of(page.text)
    missing = await api.post("/connections/new", data={
        "csrf_token": token, "connector": "webhook_secret", "name": "hooks", "op": "save"})
    assert missing.status_code == 400
    assert 'id="f-values-secret-err">Field required' in missing.text
    made = await api.post("/connections/new", data={
        "csrf_token": token, "connector": "webhook_secret", "name": "hooks", "op": "save",
        "values.secret": SECRET})
    assert made.status_code == 303, made.text
    listed = await api.get("/connections")
    assert "hooks" in listed.text and SECRET not in listed.text
    conn = (await api.get("/api/v1/connections")).json()[0]
    tested = await api.post(f"/connections/{conn['id']}/test", data={"csrf_token": token})
    assert tested.status_code == 303 and "test+ok" in tested.headers["location"]
    zap = {"name": "signed", "trigger": {"kind": "webhook", "config": {
        "signature": "hmac", "connection": "hooks"}},
        "steps": [{"id": "t", "use": "core.transform", "input": {}}]}
    assert (await api.post("/api/v1/zaps", json=zap)).status_code == 201
    refused = await api.post(f"/connections/{conn['id']}/delete", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "connection_in_use" in refused.text and "signed" in refused.text


async def test_viewer_and_forged_posts(api: Api, session: httpx.AsyncClient) -> None:  # noqa: F811
    viewer = await viewer_token(api)
    page = await api.get("/connections", token=viewer)
    assert page.status_code == 200 and "New connection" not in page.text
    assert (await api.get("/connections/new", token=viewer)).status_code == 403
    forged = await session.post("/connections/new", data={
        "connector": "webhook_secret", "name": "x", "values.secret": SECRET})
    assert forged.status_code == 403 and "csrf_failed" in forged.text
    assert (await api.get("/api/v1/connections")).json() == []
