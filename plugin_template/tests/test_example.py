"""Tests for the ``example`` plugin: the contract suite, the action and the poll trigger
through the hub's real outbound client against the fake API on loopback, the connection
check, and the plugin inside a running hub."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from fake_upstream import FakeExample
from zaphub_example.connector import CreateItem, Example, ExampleCredentials, NewItems

from hub import CannotConnect, InvalidCredentials, StepError
from hub.registry import Registry
from hub.testing import Egress, check_plugin, egress_client, run_action, run_poll


def test_contract(hub_plugin: object) -> None:
    registry = check_plugin(hub_plugin, name="example")
    assert registry.connectors["example"] is Example
    assert registry.actions["example.create_item"] is CreateItem
    assert registry.poll_triggers["example.new_items"] is NewItems


async def test_create_item(hub_registry: Registry, upstream: FakeExample,
                           creds: dict[str, Any]) -> None:
    out = await run_action("example.create_item", {"name": "Report"}, registry=hub_registry,
                           creds=creds, run_id="run_1", step_id="create")
    assert out == {"id": "1", "name": "Report"}
    (sent,) = [r for r in upstream.requests if r["method"] == "POST"]
    assert sent["headers"]["idempotency-key"] == "run_1:create"


async def test_retried_step_creates_one_item(hub_registry: Registry, upstream: FakeExample,
                                             creds: dict[str, Any]) -> None:
    for attempt in (1, 2):
        await run_action("example.create_item", {"name": "Once"}, registry=hub_registry,
                         creds=creds, attempt=attempt)
    assert [i["name"] for i in upstream.items] == ["Once"]


@pytest.mark.parametrize("status,code,retryable", [
    (401, "invalid_auth", False), (422, "upstream_error", False),
    (429, "upstream_error", True), (503, "upstream_error", True)])
async def test_create_item_errors(hub_registry: Registry, upstream: FakeExample,
                                  creds: dict[str, Any], status: int, code: str,
                                  retryable: bool) -> None:
    upstream.fail_with = status
    with pytest.raises(StepError) as info:
        await run_action("example.create_item", {"name": "x"}, registry=hub_registry,
                         creds=creds)
    assert (info.value.code, info.value.retryable) == (code, retryable)


async def test_create_item_needs_a_connection(hub_registry: Registry) -> None:
    with pytest.raises(StepError, match="needs an Example connection"):
        await run_action("example.create_item", {"name": "x"}, registry=hub_registry)


async def test_poll_first_then_new_items(hub_registry: Registry, upstream: FakeExample,
                                         creds: dict[str, Any]) -> None:
    upstream.add_item("a")
    upstream.add_item("b")
    first = await run_poll("example.new_items", {}, registry=hub_registry, creds=creds)
    assert [i["name"] for i in first.items] == ["a", "b"] and first.cursor == 2
    upstream.add_item("c")
    second = await run_poll("example.new_items", {}, registry=hub_registry, creds=creds,
                            cursor=first.cursor)
    assert [i["name"] for i in second.items] == ["c"] and second.cursor == 3
    third = await run_poll("example.new_items", {}, registry=hub_registry, creds=creds,
                           cursor=second.cursor)
    assert third.items == [] and third.cursor == 3


async def test_poll_pages(hub_registry: Registry, upstream: FakeExample,
                          creds: dict[str, Any]) -> None:
    for n in range(5):
        upstream.add_item(f"item {n}")
    first = await run_poll("example.new_items", {"limit": 2}, registry=hub_registry,
                           creds=creds)
    assert [i["id"] for i in first.items] == [4, 5]  # the newest page is the baseline
    old = await run_poll("example.new_items", {"limit": 2}, registry=hub_registry,
                         creds=creds, cursor=1)
    assert [i["id"] for i in old.items] == [2, 3] and old.cursor == 3


async def test_poll_failure_raises(hub_registry: Registry, upstream: FakeExample,
                                   creds: dict[str, Any]) -> None:
    upstream.fail_with = 503
    with pytest.raises(StepError) as info:
        await run_poll("example.new_items", {}, registry=hub_registry, creds=creds, cursor=7)
    assert (info.value.code, info.value.retryable) == ("upstream_error", True)


async def test_egress_guard_refuses_loopback_unless_allowed(
        hub_registry: Registry, creds: dict[str, Any]) -> None:
    with pytest.raises(StepError) as info:
        await run_action("example.create_item", {"name": "x"}, registry=hub_registry,
                         creds=creds, egress=Egress(allow=None))
    assert info.value.code == "egress_denied"


async def test_check(upstream: FakeExample, creds: dict[str, Any]) -> None:
    async with egress_client() as http:
        await Example().check(ExampleCredentials(**creds), http)
        with pytest.raises(InvalidCredentials):
            await Example().check(ExampleCredentials(**{**creds, "api_key": "wrong"}), http)


async def test_check_unreachable(creds: dict[str, Any]) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    async with egress_client() as http:
        with pytest.raises(CannotConnect):
            await Example().check(ExampleCredentials(**{**creds, "base_url":
                                                        f"http://127.0.0.1:{port}"}), http)


def test_secrets_stay_hidden(creds: dict[str, Any]) -> None:
    model = ExampleCredentials(**creds)
    assert creds["api_key"] not in model.model_dump_json()
    assert creds["api_key"] not in repr(model)


async def test_in_a_hub(hub_app: Any, upstream: FakeExample, creds: dict[str, Any]) -> None:
    async with hub_app() as app:
        made = await app.client.post("/api/v1/connections", json={
            "connector": "example", "name": "main", "values": creds})
        assert made.status_code == 201, made.text
        assert creds["api_key"] not in made.text
        catalog = (await app.client.get("/api/v1/catalog")).json()
        (entry,) = [c for c in catalog["connectors"] if c["key"] == "example"]
        assert entry["credentials_schema"]["properties"]["api_key"]["writeOnly"] is True
        zap = {"name": "file it", "trigger": {"kind": "manual"}, "steps": [
            {"id": "create", "use": "example.create_item", "connection": "main",
             "input": {"name": "{{ trigger.title }}"}}]}
        zap_id = (await app.client.post("/api/v1/zaps", json=zap)).json()["id"]
        run = (await app.client.post(f"/api/v1/zaps/{zap_id}/runs?wait=10",
                                     json={"input": {"title": "From a zap"}})).json()
    assert run["status"] == "succeeded", run
    assert run["result"] == {"id": "1", "name": "From a zap"}
    assert upstream.items[0]["name"] == "From a zap"
