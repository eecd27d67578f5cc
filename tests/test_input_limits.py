"""Hostile input through the real app: expression blow-ups at save and at run time, YAML
alias bombs, deeply nested JSON at every entry point, and the webhook dedupe variant."""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import yaml
from apiclient import Api
from serverhelp import running_api

from hub.settings import Settings

DOUBLED_24 = "{{ length(to_string(trigger.a" + " | [@,@]" * 24 + ")) }}"
DOUBLED_9 = "{{ length(to_string(trigger.a" + " | [@,@]" * 9 + ")) }}"


def zap(name: str, value: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"kind": "manual"},
            "steps": [{"id": "s", "use": "core.transform", "input": {"n": value}, **extra}]}


def hook_zap(name: str, **config: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"kind": "webhook", "config": config},
            "steps": [{"id": "s", "use": "core.transform", "input": {"b": "{{ trigger.body }}"}}]}


_NAMES = itertools.count()


def nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
async def api(tmp_path) -> AsyncIterator[Api]:  # type: ignore[no-untyped-def]
    """The real app on SQLite (these limits do not depend on the database)."""
    async with running_api(Settings(data_dir=tmp_path, poll_interval=0.05)) as client:
        yield client


async def _hook(api: Api, **config: Any) -> str:
    r = await api.post("/api/v1/zaps", json=hook_zap(f"hook{next(_NAMES)}", **config))
    assert r.status_code == 201, r.text
    return (await api.get(f"/api/v1/zaps/{r.json()['id']}/trigger")).json()["webhook"]["path"]


# --- expressions -----------------------------------------------------------------------------


async def test_the_issue_expression_is_refused_at_save_with_its_path(api: Api) -> None:
    r = await api.post("/api/v1/zaps", json=zap("blowup", DOUBLED_24))
    assert r.status_code == 422 and r.json()["code"] == "invalid_zap"
    error = r.json()["errors"][0]
    assert error["path"] == "steps[0].input.n" and "multiply the size" in error["message"]


async def test_a_brace_flood_is_refused_fast_at_save(api: Api) -> None:
    started = time.perf_counter()
    r = await api.post("/api/v1/zaps", json=zap("braces", "{{" * 16_000))
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "steps[0].input.n"
    assert time.perf_counter() - started < 2


async def test_a_run_hitting_a_limit_fails_at_once_without_retries(api: Api) -> None:
    doc = zap("runtime", DOUBLED_9, retry={"attempts": 5, "backoff": 0})
    zid = (await api.post("/api/v1/zaps", json=doc)).json()["id"]
    r = await api.post(f"/api/v1/zaps/{zid}/runs?wait=20", json={"input": {"a": "x" * 60_000}})
    run = r.json()
    assert run["status"] == "failed" and run["error"]["code"] == "expression_limit"
    assert len(run["steps"]) == 1  # one attempt


async def test_dedupe_blowup_is_refused_at_save(api: Api) -> None:
    doc = hook_zap("dd", dedupe="to_string(body" + " | [@,@]" * 22 + ")")
    r = await api.post("/api/v1/zaps", json=doc)
    assert r.status_code == 422 and r.json()["errors"][0]["path"] == "trigger.config.dedupe"


async def test_a_delivery_whose_dedupe_hits_a_limit_gets_422(api: Api) -> None:
    path = await _hook(api, dedupe="to_string(body.a" + " | [@,@]" * 9 + ")")
    started = time.perf_counter()
    r = await api.client.post(path, json={"a": "x" * 60_000})
    assert r.status_code == 422 and r.json()["code"] == "expression_limit"
    assert time.perf_counter() - started < 2
    ok = await api.client.post(path, json={"a": "small"})
    assert ok.status_code == 202


async def test_a_dedupe_expression_that_fails_at_run_time_is_a_4xx(api: Api) -> None:
    path = await _hook(api, dedupe="abs(body.a)")
    r = await api.client.post(path, json={"a": "text"})
    assert r.status_code == 422 and r.json()["code"] == "expression_error"


# --- YAML ------------------------------------------------------------------------------------

BOMB = "name: bomb\ntrigger: {kind: manual}\nsteps: [{id: s, use: core.transform}]\n" \
       "vars:\n  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
           f"  {c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefg", "bcdefgh",
                                                                          strict=True))


async def test_yaml_alias_bomb_is_refused(api: Api) -> None:
    started = time.perf_counter()
    r = await api.post("/api/v1/zaps", content=BOMB, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and r.json()["code"] == "yaml_alias_refused"
    assert "line 5" in r.json()["detail"] and time.perf_counter() - started < 2


async def test_ai_policy_yaml_refuses_aliases(api: Api) -> None:
    body = "candidates: &c [{model: a}]\nfallback: *c\n"
    r = await api.put("/api/v1/ai/policies/p", content=body,
                      headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and r.json()["code"] == "yaml_alias_refused"


async def test_deep_yaml_documents_are_refused(api: Api) -> None:
    doc = yaml.safe_dump(zap("deep", "x"))
    doc += "vars: " + "[" * 100 + "]" * 100 + "\n"
    r = await api.post("/api/v1/zaps", content=doc, headers={"Content-Type": "application/yaml"})
    assert r.status_code == 400 and r.json()["code"] == "too_deep"


# --- JSON depth ------------------------------------------------------------------------------


async def test_deep_webhook_bodies_get_400_not_503(api: Api) -> None:
    path = await _hook(api)
    for depth in (65, 2_500, 100_000):
        r = await api.client.post(path, content=nested(depth),
                                  headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] == "too_deep", (depth, r.text)
    r = await api.client.post(path, content=nested(60),
                              headers={"Content-Type": "application/json"})
    assert r.status_code == 202


async def test_deep_manual_run_input_gets_400(api: Api) -> None:
    zid = (await api.post("/api/v1/zaps", json=zap("plain", "{{ trigger }}"))).json()["id"]
    r = await api.post(f"/api/v1/zaps/{zid}/runs", content='{"input": ' + nested(900) + "}",
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "too_deep"


@pytest.mark.parametrize(("method", "url"), [
    ("POST", "/api/v1/zaps"), ("PUT", "/api/v1/ai/settings"), ("POST", "/api/v1/tokens"),
    ("PUT", "/api/v1/ai/models/m"), ("POST", "/api/v1/connections"),
])
async def test_every_api_json_body_is_depth_checked(api: Api, method: str, url: str) -> None:
    r = await api.client.request(method, url, content=nested(200),
                                 headers={**api.auth(), "Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "too_deep"


async def test_nan_in_an_api_body_is_refused(api: Api) -> None:
    zid = (await api.post("/api/v1/zaps", json=zap("nan", "{{ trigger }}"))).json()["id"]
    r = await api.post(f"/api/v1/zaps/{zid}/runs", content='{"input": {"x": NaN}}',
                       headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "malformed_json"


async def test_the_depth_setting_is_honoured(tmp_path) -> None:  # type: ignore[no-untyped-def]
    async with running_api(Settings(data_dir=tmp_path, max_json_depth=10)) as api:
        path = await _hook(api)
        json_type = {"Content-Type": "application/json"}
        assert (await api.client.post(path, content=nested(10), headers=json_type)).status_code \
            == 202
        assert (await api.client.post(path, content=nested(11), headers=json_type)).status_code \
            == 400
