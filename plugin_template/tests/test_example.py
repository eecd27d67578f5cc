"""Tests for the ``example`` plugin: the contract suite, then the action against a mocked API."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import zaphub_example
from pytest_httpx import HTTPXMock
from zaphub_example.connector import CreateItem, Example, ExampleCredentials

from hub import CannotConnect, InvalidCredentials, StepContext, StepError
from hub.testing import check_connector, check_plugin

API = "https://api.example.test"


def test_contract() -> None:
    check_connector(Example)


def test_plugin_registers_the_connector() -> None:
    registry = check_plugin(zaphub_example, name="example")
    assert registry.connectors["example"] is Example
    assert registry.action("example.create_item") is CreateItem


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def creds() -> ExampleCredentials:
    return ExampleCredentials(api_key="sk-test")


def _ctx(creds: ExampleCredentials, http: httpx.AsyncClient) -> StepContext:
    return StepContext(run_id="run_1", step_id="create", attempt=2,
                       idempotency_key="run_1:create", workspace_id="ws_1", creds=creds,
                       http=http)


async def test_create_item(httpx_mock: HTTPXMock, creds: ExampleCredentials,
                           http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(
        method="POST", url=f"{API}/items",
        match_headers={"Idempotency-Key": "run_1:create", "Authorization": "Bearer sk-test"},
        match_json={"name": "Report", "note": ""},
        json={"id": 42, "name": "Report"}, status_code=201)
    payload = CreateItem.Input(name="Report")
    out = await CreateItem().run(payload, _ctx(creds, http))
    assert out == CreateItem.Output(id="42", name="Report")


@pytest.mark.parametrize("status,code,retryable", [
    (401, "invalid_auth", False), (422, "upstream_error", False),
    (429, "upstream_error", True), (503, "upstream_error", True)])
async def test_create_item_errors(httpx_mock: HTTPXMock, creds: ExampleCredentials,
                                  http: httpx.AsyncClient, status: int, code: str,
                                  retryable: bool) -> None:
    httpx_mock.add_response(method="POST", url=f"{API}/items", status_code=status)
    with pytest.raises(StepError) as info:
        await CreateItem().run(CreateItem.Input(name="x"), _ctx(creds, http))
    assert (info.value.code, info.value.retryable) == (code, retryable)


async def test_create_item_needs_a_connection(http: httpx.AsyncClient) -> None:
    ctx = StepContext(run_id="r", step_id="s", attempt=1, idempotency_key="r:s",
                      workspace_id="w", creds=None, http=http)
    with pytest.raises(StepError, match="needs an Example connection"):
        await CreateItem().run(CreateItem.Input(name="x"), ctx)


async def test_check(httpx_mock: HTTPXMock, creds: ExampleCredentials,
                     http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(method="GET", url=f"{API}/me", json={"id": "me"})
    await Example().check(creds, http)


async def test_check_rejects_bad_key(httpx_mock: HTTPXMock, creds: ExampleCredentials,
                                     http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(method="GET", url=f"{API}/me", status_code=401)
    with pytest.raises(InvalidCredentials):
        await Example().check(creds, http)


async def test_check_unreachable(httpx_mock: HTTPXMock, creds: ExampleCredentials,
                                 http: httpx.AsyncClient) -> None:
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    with pytest.raises(CannotConnect):
        await Example().check(creds, http)


def test_secrets_stay_hidden(creds: ExampleCredentials) -> None:
    assert "sk-test" not in creds.model_dump_json()
    assert "sk-test" not in repr(creds)
