"""The zaps API: CRUD, versions, enable/disable, export, bad input."""

from __future__ import annotations

import yaml

ZAP = {
    "name": "greet",
    "trigger": {"kind": "manual"},
    "vars": {"greeting": "Hello"},
    "steps": [
        {"id": "shape", "use": "core.transform",
         "input": {"message": "{{ vars.greeting }}, {{ trigger.name }}!"}},
        {"id": "gate", "use": "core.filter", "input": {"condition": "{{ trigger.vip }}"}},
        {"id": "out", "use": "core.transform", "input": {"text": "{{ steps.shape.message }}"}},
    ],
}


async def test_create_get_list_and_versions(api) -> None:
    r = await api.post("/api/v1/zaps", json=ZAP)
    assert r.status_code == 201, r.text
    zap = r.json()
    assert zap["version"] == 1 and zap["enabled"] is True and zap["trigger_kind"] == "manual"
    got = (await api.get(f"/api/v1/zaps/{zap['id']}")).json()
    assert got["definition"]["steps"][0]["id"] == "shape"
    assert [z["id"] for z in (await api.get("/api/v1/zaps")).json()] == [zap["id"]]

    changed = {**ZAP, "vars": {"greeting": "Hi"}}
    r = await api.put(f"/api/v1/zaps/{zap['id']}", json=changed)
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = (await api.get(f"/api/v1/zaps/{zap['id']}/versions")).json()
    assert [v["version"] for v in versions] == [2, 1]
    v1 = (await api.get(f"/api/v1/zaps/{zap['id']}/versions/1")).json()
    assert v1["definition"]["vars"] == {"greeting": "Hello"}


async def test_yaml_body_and_export_round_trip(api) -> None:
    r = await api.post("/api/v1/zaps", content=yaml.safe_dump(ZAP),
                       headers={"Content-Type": "application/yaml"})
    assert r.status_code == 201, r.text
    zid = r.json()["id"]
    exported = await api.get(f"/api/v1/zaps/{zid}/export")
    assert exported.headers["content-type"].startswith("application/yaml")
    doc = yaml.safe_load(exported.text)
    assert doc["name"] == "greet" and doc["steps"][2]["input"]["text"].startswith("{{")
    as_json = (await api.get(f"/api/v1/zaps/{zid}/export?format=json")).json()
    assert as_json == doc
    doc["name"] = "greet-copy"
    assert (await api.post("/api/v1/zaps", json=doc)).status_code == 201


async def test_enable_disable_and_delete(api) -> None:
    zid = (await api.post("/api/v1/zaps", json=ZAP)).json()["id"]
    assert (await api.post(f"/api/v1/zaps/{zid}/disable")).json()["enabled"] is False
    r = await api.post(f"/api/v1/zaps/{zid}/runs", json={"input": {}})
    assert r.status_code == 409 and r.json()["code"] == "zap_disabled"
    assert (await api.post(f"/api/v1/zaps/{zid}/enable")).json()["enabled"] is True
    assert (await api.delete(f"/api/v1/zaps/{zid}")).status_code == 204
    r = await api.get(f"/api/v1/zaps/{zid}")
    assert r.status_code == 404 and r.json()["code"] == "zap_not_found"
    # the name is free again
    assert (await api.post("/api/v1/zaps", json=ZAP)).status_code == 201


async def test_invalid_zap_points_at_the_path_and_stores_nothing(api) -> None:
    bad = {**ZAP, "steps": [*ZAP["steps"][:2],
                            {"id": "out", "use": "core.transform",
                             "input": {"text": "{{ steps.clasify.label }}"}}]}
    r = await api.post("/api/v1/zaps", json=bad)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["code"] == "invalid_zap"
    assert {"path": "steps[2].input.text", "message": "unknown step 'clasify'"} in body["errors"]
    assert body["detail"].startswith("steps[2].input.text: unknown step 'clasify'")
    assert (await api.get("/api/v1/zaps")).json() == []


async def test_bad_documents(api) -> None:
    cases = [
        ({"content": b"{not json", "headers": {"Content-Type": "application/json"}},
         400, "malformed_json"),
        ({"content": b"key: [unclosed", "headers": {"Content-Type": "application/yaml"}},
         400, "malformed_document"),
        ({"content": b"- a list", "headers": {"Content-Type": "application/yaml"}},
         400, "malformed_document"),
        ({"content": b"name: x", "headers": {"Content-Type": "text/plain"}},
         415, "unsupported_media_type"),
        ({"json": {**ZAP, "steps": [{"id": "a", "use": "nope.thing"}]}}, 422, "invalid_zap"),
        ({"json": {**ZAP, "trigger": {"kind": "telepathy"}}}, 422, "invalid_zap"),
        ({"json": {**ZAP, "steps": [{"id": "a", "use": "core.transform",
                                     "input": {"x": "{{ trigger.[ }}"}}]}}, 422, "invalid_zap"),
        ({"content": b"x" * 1_100_000, "headers": {"Content-Type": "application/json"}},
         413, "payload_too_large"),
    ]
    for kwargs, status, code in cases:
        r = await api.post("/api/v1/zaps", **kwargs)
        assert (r.status_code, r.json()["code"]) == (status, code), (kwargs.keys(), r.text)
    assert (await api.get("/api/v1/zaps")).json() == []


async def test_duplicate_name_and_unknown_ids(api) -> None:
    assert (await api.post("/api/v1/zaps", json=ZAP)).status_code == 201
    r = await api.post("/api/v1/zaps", json=ZAP)
    assert r.status_code == 409 and r.json()["code"] == "zap_name_taken"
    for url in ("/api/v1/zaps/zap_nope", "/api/v1/zaps/zap_nope/versions",
                "/api/v1/zaps/zap_nope/export"):
        r = await api.get(url)
        assert r.status_code == 404 and r.json()["code"] == "zap_not_found"
    zid = (await api.get("/api/v1/zaps")).json()[0]["id"]
    r = await api.get(f"/api/v1/zaps/{zid}/versions/9")
    assert r.status_code == 404 and r.json()["code"] == "zap_version_not_found"
    r = await api.put("/api/v1/zaps/zap_nope", json=ZAP)
    assert r.status_code == 404


async def test_openapi_publishes_the_zap_schema(api) -> None:
    schema = (await api.client.get("/openapi.json")).json()
    assert "Zap" in schema["components"]["schemas"]
    assert "Step" in schema["components"]["schemas"]
    assert "/api/v1/zaps" in schema["paths"]
