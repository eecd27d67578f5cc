"""Table pages over ASGI: browse and filter, add, edit and delete rows with typed values,
CSV import and export; viewers read only; forged posts refused."""

from __future__ import annotations

import httpx
from apiclient import Api
from test_ui_pages import browser_like, csrf_of, session, viewer_token  # noqa: F401

SPEC = {"name": "orders", "key": "ref", "columns": [
    {"name": "ref", "type": "text"}, {"name": "qty", "type": "integer"},
    {"name": "state", "type": "text", "indexed": True}]}


async def test_browse_edit_import_export(api: Api) -> None:
    assert (await api.post("/api/v1/tables", json=SPEC)).status_code == 201
    page = await api.get("/tables/orders")
    assert page.status_code == 200 and "No rows." in page.text
    token = csrf_of(page.text)
    add = await api.post("/tables/orders/insert", data={
        "csrf_token": token, "col.ref": "A-1", "col.qty": "3", "col.state": "open"})
    assert add.status_code == 303
    bad = await api.post("/tables/orders/insert", data={
        "csrf_token": token, "col.ref": "A-2", "col.qty": "three"})
    assert bad.status_code == 400 and 'role="alert"' in bad.text and "qty" in bad.text
    saved = await api.post("/tables/orders/update", data={
        "csrf_token": token, "key": "A-1", "col.qty": "5", "col.state": "shipped"})
    assert saved.status_code == 303
    row = (await api.get("/api/v1/tables/orders/rows/A-1")).json()
    assert row["values"]["qty"] == 5 and row["values"]["state"] == "shipped"
    imported = await api.post("/tables/orders/import", data={
        "csrf_token": token, "csv": "ref,qty,state\nB-1,1,open\nB-2,2,open\n"})
    assert imported.status_code == 303 and "2%20added" in imported.headers["location"]
    shown = await api.get("/tables/orders?column=state&value=open")
    assert "B-1" in shown.text and "B-2" in shown.text and "A-1" not in shown.text
    bad_filter = await api.get("/tables/orders?where=%7Bnope")
    assert bad_filter.status_code == 400 and "invalid_filter" in bad_filter.text
    csv = await api.get("/tables/orders/export.csv")
    assert csv.text.splitlines()[0].startswith("ref,qty,state")
    gone = await api.post("/tables/orders/delete", data={"csrf_token": token, "key": "B-2"})
    assert gone.status_code == 303
    assert "B-2" not in (await api.get("/tables/orders")).text


async def test_viewer_reads_only(api: Api, session: httpx.AsyncClient) -> None:  # noqa: F811
    await api.post("/api/v1/tables", json=SPEC)
    viewer = await viewer_token(api)
    page = await api.get("/tables/orders", token=viewer)
    assert page.status_code == 200 and "Add a row" not in page.text
    listed = await api.get("/tables", token=viewer)
    assert "orders" in listed.text
    owner_page = await api.get("/tables/orders")
    refused = await api.post("/tables/orders/insert", token=viewer, data={
        "csrf_token": csrf_of(owner_page.text), "col.ref": "X"})
    assert refused.status_code == 403
    forged = await session.post("/tables/orders/insert", data={"col.ref": "X"})
    assert forged.status_code == 403 and "csrf_failed" in forged.text
