"""The OpenAPI document describes the real error contract: every ``/api/v1`` operation lists
its problem+json answers, and the answers the hub gives match the ``Problem`` schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import jsonschema
import pytest
from apiclient import Api
from serverhelp import running_api

from hub.settings import Settings

PROBLEM = "application/problem+json"
REF = {"$ref": "#/components/schemas/Problem"}


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    async with running_api(Settings(data_dir=tmp_path, api_max_body=2048)) as client:
        yield client


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method.upper(), path, op) for path, ops in spec["paths"].items()
            if path.startswith("/api/v1/") for method, op in ops.items()]


async def test_every_api_operation_lists_its_problems(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    operations = _operations(spec)
    assert len(operations) > 40
    for method, path, op in operations:
        responses = op["responses"]
        expected = {"401"}
        if "{" in path:
            expected.add("404")
        if method in ("POST", "PUT", "PATCH"):
            expected |= {"400", "408", "413", "422"}
        if method in ("POST", "PUT", "PATCH", "DELETE"):
            expected |= {"403", "409"}
        assert expected <= responses.keys(), (method, path, sorted(responses))
        for status, answer in responses.items():
            if status.startswith(("4", "5")):
                assert answer["content"] == {PROBLEM: {"schema": REF}}, (method, path, status)
    assert "HTTPValidationError" not in spec["components"]["schemas"]


async def test_roles_and_media_types_are_documented(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    paths = spec["paths"]
    assert "403" in paths["/api/v1/vault/settings"]["get"]["responses"]  # admins only
    assert "403" not in paths["/api/v1/zaps"]["get"]["responses"]  # any viewer
    assert "415" in paths["/api/v1/zaps"]["post"]["responses"]  # JSON or YAML
    assert "424" in paths["/api/v1/connections"]["post"]["responses"]
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail", "code"}
    assert "errors" in problem["properties"]


async def test_real_answers_match_the_problem_schema(api: Api) -> None:
    spec = (await api.client.get("/openapi.json")).json()
    schema = spec["components"]["schemas"]["Problem"]
    answers = [
        ("/api/v1/zaps", await api.client.get("/api/v1/zaps")),  # no token
        ("/api/v1/zaps/{zap_id}", await api.get("/api/v1/zaps/zap_nope")),
        ("/api/v1/zaps", await api.post("/api/v1/zaps", content=b"x" * 4000)),
        ("/api/v1/zaps", await api.post("/api/v1/zaps", content=b"a: 1",
                                        headers={"Content-Type": "text/csv"})),
        ("/api/v1/zaps", await api.post("/api/v1/zaps", json={"name": "x"})),
        ("/api/v1/runs", await api.get("/api/v1/runs", params={"limit": "many"})),
    ]
    assert [r.status_code for _, r in answers] == [401, 404, 413, 415, 422, 422]
    for path, r in answers:
        assert r.headers["content-type"] == PROBLEM
        jsonschema.validate(r.json(), schema)
        assert str(r.status_code) in spec["paths"][path][r.request.method.lower()]["responses"]
