"""/api/v1/tables over the real app: schema routes, rows by key, pagination, roles, other
workspaces, tables in use, and CSV import/export round trips."""

from __future__ import annotations

import csv
import io
from typing import Any

from apiclient import Api

from hub.services import identity

BASE = "/api/v1/tables"
NOTES = {"name": "notes", "key": "slug", "columns": [
    {"name": "slug", "type": "text"}, {"name": "body", "type": "text"},
    {"name": "stars", "type": "integer", "indexed": True}, {"name": "done", "type": "boolean"},
    {"name": "due", "type": "datetime"}, {"name": "extra", "type": "json"}]}


async def patch(api: Api, url: str, body: Any, token: str | None = None) -> Any:
    return await api.client.patch(url, json=body, headers=api.auth(token))


async def setup(api: Api) -> None:
    r = await api.post(BASE, json=NOTES)
    assert r.status_code == 201, r.text


async def test_schema_routes(api: Api) -> None:
    await setup(api)
    assert [t["name"] for t in (await api.get(BASE)).json()] == ["notes"]
    got = (await api.get(f"{BASE}/notes")).json()
    assert got["key"] == "slug" and got["row_count"] == 0 and len(got["columns"]) == 6
    r = await api.post(BASE, json=NOTES)
    assert r.status_code == 409 and r.json()["code"] == "table_name_taken"
    assert r.headers["content-type"] == "application/problem+json"
    r = await api.post(BASE, json={**NOTES, "name": "bad", "key": "extra"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_schema"
    r = await patch(api, f"{BASE}/notes", {"add": [{"name": "tag", "type": "text"}],
                                           "rename": {"body": "text"}})
    assert r.status_code == 200 and [c["name"] for c in r.json()["columns"]][1] == "text"
    r = await patch(api, f"{BASE}/notes", {"drop": ["slug"]})
    assert r.status_code == 422 and r.json()["code"] == "invalid_schema"
    assert (await api.get(f"{BASE}/nope")).json()["code"] == "table_not_found"
    assert (await api.delete(f"{BASE}/notes")).status_code == 204
    assert (await api.get(f"{BASE}/notes")).status_code == 404


async def test_rows_by_key(api: Api) -> None:
    await setup(api)
    url = f"{BASE}/notes/rows"
    r = await api.post(url, json={"values": {"slug": "a/b c", "stars": 2, "due": "2025-06-01"}})
    assert r.status_code == 201 and r.json()["values"]["due"] == "2025-06-01T00:00:00Z"
    r = await api.post(url, json={"values": {"slug": "a/b c"}})
    assert r.status_code == 409 and r.json()["code"] == "duplicate_key"
    got = await api.get(f"{url}/a%2Fb%20c")
    assert got.status_code == 200 and got.json()["values"]["stars"] == 2
    r = await api.put(f"{url}/x", json={"values": {"body": "new", "done": True}})
    assert r.status_code == 201 and r.json()["key"] == "x"
    r = await api.put(f"{url}/x", json={"values": {"stars": 5}})
    assert r.status_code == 200 and r.json()["values"] == {
        "slug": "x", "body": "new", "stars": 5, "done": True, "due": None, "extra": None}
    r = await api.put(f"{url}/x", json={"values": {"slug": "y"}})
    assert r.status_code == 422 and r.json()["code"] == "invalid_row"
    r = await patch(api, f"{url}/x", {"values": {"body": None}})
    assert r.status_code == 200 and r.json()["values"]["body"] is None
    r = await patch(api, f"{url}/missing", {"values": {"body": "x"}})
    assert r.status_code == 404 and r.json()["code"] == "row_not_found"
    assert (await api.delete(f"{url}/x")).status_code == 204
    r = await api.delete(f"{url}/x")
    assert r.status_code == 404 and r.json()["code"] == "row_not_found"


async def test_integer_keys_in_urls(api: Api) -> None:
    await api.post(BASE, json={"name": "orders", "key": "id", "columns": [
        {"name": "id", "type": "integer"}, {"name": "total", "type": "number"}]})
    await api.put(f"{BASE}/orders/rows/42", json={"values": {"total": 9.5}})
    assert (await api.get(f"{BASE}/orders/rows/42")).json()["values"] == {"id": 42,
                                                                          "total": 9.5}
    r = await api.get(f"{BASE}/orders/rows/forty-two")
    assert r.status_code == 422 and r.json()["code"] == "invalid_row"


async def test_pages_and_filters(api: Api) -> None:
    await setup(api)
    for i in range(7):
        await api.post(f"{BASE}/notes/rows", json={"values": {"slug": f"n{i}", "stars": i % 3}})
    seen, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 3, **({"cursor": cursor} if cursor else {})}
        page = (await api.get(f"{BASE}/notes/rows", params=params)).json()
        seen += [r["key"] for r in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == [f"n{i}" for i in range(7)]
    page = (await api.get(f"{BASE}/notes/rows", params={
        "where": '{"stars": 1}', "order": "desc"})).json()
    assert [r["key"] for r in page["items"]] == ["n4", "n1"] and page["next_cursor"] is None
    for params, code in (({"where": "{nope"}, "invalid_filter"),
                         ({"where": "[" * 4000 + "]" * 4000}, "invalid_filter"),
                         ({"where": '{"stars": "x"}'}, "invalid_filter"),
                         ({"where": '{"ghost": 1}'}, "invalid_filter"),
                         ({"cursor": "x"}, "invalid_cursor"), ({"limit": 100000}, "invalid_limit")):
        r = await api.get(f"{BASE}/notes/rows", params=params)
        assert r.status_code == 422 and r.json()["code"] == code, params


async def test_roles(api: Api) -> None:
    await setup(api)
    viewer = (await api.post("/api/v1/users", json={"email": "v@x.io", "role": "viewer"})
              ).json()["token"]
    editor = (await api.post("/api/v1/users", json={"email": "e@x.io", "role": "editor"})
              ).json()["token"]
    assert (await api.get(f"{BASE}/notes/rows", token=viewer)).status_code == 200
    assert (await api.get(f"{BASE}/notes/export", token=viewer)).status_code == 200
    for r in (await api.post(BASE, token=viewer, json={**NOTES, "name": "v"}),
              await api.post(f"{BASE}/notes/rows", token=viewer, json={"values": {"slug": "v"}}),
              await api.put(f"{BASE}/notes/rows/v", token=viewer, json={"values": {}}),
              await patch(api, f"{BASE}/notes", {"drop": ["body"]}, token=viewer),
              await api.post(f"{BASE}/notes/import", token=viewer, content=b"slug\nv\n"),
              await api.delete(f"{BASE}/notes", token=viewer)):
        assert r.status_code == 403 and r.json()["code"] == "insufficient_role"
    r = await api.post(f"{BASE}/notes/rows", token=editor, json={"values": {"slug": "e"}})
    assert r.status_code == 201
    assert (await api.get(f"{BASE}/notes/rows")).json()["items"][0]["key"] == "e"


async def test_other_workspaces_get_404(api: Api) -> None:
    await setup(api)
    await api.post(f"{BASE}/notes/rows", json={"values": {"slug": "mine"}})
    other = (await identity.create_workspace(api.app.state.hub, name="O",
                                             owner_email="o@o.io"))["token"]
    assert (await api.get(BASE, token=other)).json() == []
    for url in (f"{BASE}/notes", f"{BASE}/notes/rows", f"{BASE}/notes/rows/mine",
                f"{BASE}/notes/export"):
        r = await api.get(url, token=other)
        assert r.status_code == 404 and r.json()["code"] == "table_not_found", url
    for r in (await api.post(f"{BASE}/notes/rows", token=other, json={"values": {"slug": "x"}}),
              await api.put(f"{BASE}/notes/rows/mine", token=other, json={"values": {}}),
              await api.post(f"{BASE}/notes/import", token=other, content=b"slug\nx\n"),
              await api.delete(f"{BASE}/notes/rows/mine", token=other),
              await api.delete(f"{BASE}/notes", token=other)):
        assert r.status_code == 404
    assert (await api.get(f"{BASE}/notes")).json()["row_count"] == 1


async def test_a_table_in_use_is_not_deleted(api: Api) -> None:
    await setup(api)
    zap = {"name": "log", "trigger": {"kind": "manual"}, "steps": [
        {"id": "save", "use": "tables.upsert",
         "input": {"table": "notes", "values": {"slug": "{{ trigger.slug }}"}}}]}
    assert (await api.post("/api/v1/zaps", json=zap)).status_code == 201
    r = await api.delete(f"{BASE}/notes")
    assert r.status_code == 409 and r.json()["code"] == "table_in_use"
    assert r.json()["zaps"] == ["log"]


def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


TRICKY = [
    ["slug", "body", "stars", "done", "due", "extra"],
    ["q1", 'She said "hi", then left', "3", "true", "2025-01-02T03:04:05+01:00", '{"a": [1]}'],
    ["q2", "line one\nline two", "", "no", "", ""],
    ["ü-ñ", "日本語 and emoji 🎉 , ; \t tab", "-1", "", "", '"text"'],
    ["f1", "=HYPERLINK(\"http://evil\")", "0", "false", "", '"+1"'],
    ["f2", "'=already quoted", "1", "", "", ""],
    ["f3", "@SUM(A1)", "2", "", "", "[]"],
]


def as_csv(rows: list[list[str]]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    return buf.getvalue().encode()


async def test_csv_round_trip(api: Api) -> None:
    await setup(api)
    r = await api.post(f"{BASE}/notes/import", content=as_csv(TRICKY),
                       headers={"Content-Type": "text/csv"})
    assert r.status_code == 200 and r.json() == {"inserted": 6, "updated": 0}, r.text
    assert (await api.get(f"{BASE}/notes/rows/f2")).json()["values"]["body"] == (
        "=already quoted")  # an escaped cell from another tool loses its one quote
    await api.post(f"{BASE}/notes/rows", json={"values": {"slug": "f4", "body": "'=typed in",
                                                          "extra": -2}})
    row = (await api.get(f"{BASE}/notes/rows/q1")).json()["values"]
    assert row == {"slug": "q1", "body": 'She said "hi", then left', "stars": 3, "done": True,
                   "due": "2025-01-02T02:04:05Z", "extra": {"a": [1]}}
    assert (await api.get(f"{BASE}/notes/rows/f1")).json()["values"]["body"] == (
        '=HYPERLINK("http://evil")')
    exported = await api.get(f"{BASE}/notes/export")
    assert exported.headers["content-type"].startswith("text/csv")
    assert 'filename="notes.csv"' in exported.headers["content-disposition"]
    rows = {r[0]: r for r in parse(exported.text)[1:]}
    assert rows["f1"][1] == "'=HYPERLINK(\"http://evil\")"  # formula injection defused
    assert rows["f2"][1] == "'=already quoted" and rows["f3"][1] == "'@SUM(A1)"
    assert rows["f4"][1] == "''=typed in" and rows["f4"][5] == "'-2"
    assert rows["f1"][5] == '"+1"'  # a JSON string cell starts with a quote: safe
    assert rows["ü-ñ"][2] == "-1"  # numbers are never prefixed
    assert rows["q2"][1] == "line one\nline two" and rows["q1"][4] == "2025-01-02T02:04:05Z"
    # the export imports back unchanged into an empty copy of the table
    await api.post(BASE, json={**NOTES, "name": "copy"})
    r = await api.post(f"{BASE}/copy/import", content=exported.content)
    assert r.json() == {"inserted": 7, "updated": 0}, r.text
    again = (await api.get(f"{BASE}/copy/export")).text
    assert parse(again) == parse(exported.text)
    for slug in ("f1", "f2", "f4", "ü-ñ", "q1", "q2"):
        a = (await api.get(f"{BASE}/notes/rows/{slug}")).json()["values"]
        assert (await api.get(f"{BASE}/copy/rows/{slug}")).json()["values"] == a


async def test_csv_upsert_and_a_bad_row_writes_nothing(api: Api) -> None:
    await setup(api)
    await api.post(f"{BASE}/notes/import", content=b"slug,stars,body\na,1,keep\nb,2,\n")
    r = await api.post(f"{BASE}/notes/import", content=b"slug,stars\na,5\nc,6\n")
    assert r.status_code == 409 and r.json()["code"] == "duplicate_key" and r.json()["row"] == 2
    r = await api.post(f"{BASE}/notes/import?mode=upsert", content=b"slug,stars\na,5\nc,6\n")
    assert r.json() == {"inserted": 1, "updated": 1}
    assert (await api.get(f"{BASE}/notes/rows/a")).json()["values"]["body"] == "keep"
    bad = b"slug,stars\nd,7\ne,seven\nf,8\n"
    r = await api.post(f"{BASE}/notes/import?mode=upsert", content=bad)
    body = r.json()
    assert r.status_code == 422 and body["code"] == "invalid_row" and body["row"] == 3
    assert body["detail"].startswith("row 3, column stars:")
    keys = [i["key"] for i in (await api.get(f"{BASE}/notes/rows")).json()["items"]]
    assert keys == ["a", "b", "c"]  # d and f were not written either
