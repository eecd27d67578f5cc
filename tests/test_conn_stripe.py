"""The ``stripe`` connector against mocks shaped like Stripe's API (lists, refunds, errors
``{"error": {"type", "code", "message"}}``), and a refund retried by the engine after a 500
that carries the same ``Idempotency-Key`` both times."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from connhelp import ctx
from hub_plugins.stripe.connector import CreateRefund, FindCustomer, Stripe, StripeCredentials
from pytest_httpx import HTTPXMock
from test_engine import finish, start

from hub import StepError
from hub.context import Hub
from hub.services import connections, identity
from hub.testing import check_connector

API = "https://api.stripe.com/v1"
AUTH = {"Authorization": "Bearer sk_test_123"}
REFUND = {"id": "re_1Nispe2eZvKYlo2Cd31jOCgZ", "object": "refund", "amount": 1000,
          "balance_transaction": "txn_1", "charge": "ch_1", "created": 1692942318,
          "currency": "usd", "metadata": {}, "payment_intent": "pi_1", "reason": None,
          "status": "succeeded"}


def test_contract() -> None:
    check_connector(Stripe)


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient() as c:
        yield c


async def act(action: Any, http: httpx.AsyncClient, **payload: Any) -> dict[str, Any]:
    creds = StripeCredentials(api_key="sk_test_123")
    out = await action().run(action.Input.model_validate(payload), ctx(creds, http))
    return out.model_dump()


async def test_find_customer(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    customer = {"id": "cus_NffrFeUfNV2Hib", "object": "customer", "email": "ada@example.com",
                "name": "Ada", "created": 1680893993, "metadata": {}}
    httpx_mock.add_response(url=f"{API}/customers?email=ada%40example.com&limit=10",
                            match_headers=AUTH,
                            json={"object": "list", "url": "/v1/customers", "has_more": False,
                                  "data": [customer]})
    httpx_mock.add_response(url=f"{API}/customers?email=nobody%40example.com&limit=10",
                            json={"object": "list", "url": "/v1/customers", "has_more": False,
                                  "data": []})
    out = await act(FindCustomer, http, email="ada@example.com")
    assert out["found"] and out["customer"]["id"] == "cus_NffrFeUfNV2Hib"
    out = await act(FindCustomer, http, email="nobody@example.com")
    assert out == {"found": False, "customer": None, "customers": []}


async def test_create_refund_is_form_encoded_with_idempotency_key(
        httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(
        method="POST", url=f"{API}/refunds",
        match_headers={**AUTH, "Idempotency-Key": "run_1:act",
                       "Content-Type": "application/x-www-form-urlencoded"},
        match_content=b"payment_intent=pi_1&amount=1000&reason=requested_by_customer"
                      b"&metadata%5Bticket%5D=T-9",
        json=REFUND)
    out = await act(CreateRefund, http, payment_intent="pi_1", amount=1000,
                    reason="requested_by_customer", metadata={"ticket": "T-9"})
    assert out == {"id": "re_1Nispe2eZvKYlo2Cd31jOCgZ", "status": "succeeded", "amount": 1000,
                   "currency": "usd"}


def _error(type_: str, message: str, code: str | None = None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "code": code,
                      "doc_url": "https://stripe.com/docs/error-codes"}}


@pytest.mark.parametrize("status,body,headers,expected", [
    (401, _error("invalid_request_error", "Invalid API Key provided: sk_test_****123"), {},
     ("invalid_auth", False, "Invalid API Key")),
    (400, _error("invalid_request_error", "Charge ch_1 has already been refunded.",
                 "charge_already_refunded"), {},
     ("provider_error", False, "(charge_already_refunded)")),
    (402, _error("card_error", "Your card was declined.", "card_declined"), {},
     ("provider_error", False, "declined")),
    (429, _error("invalid_request_error", "Too many requests.", "rate_limit"),
     {"Retry-After": "2"}, ("rate_limited", True, "Too many")),
    (409, _error("idempotency_error", "Keys for idempotent requests can only be used with the "
                 "same parameters they were first used with."), {"Stripe-Should-Retry": "false"},
     ("provider_error", False, "same parameters")),
    (500, _error("api_error", "Something went wrong on Stripe's end."), {},
     ("provider_unavailable", True, "Stripe's end"))])
async def test_errors(httpx_mock: HTTPXMock, http: httpx.AsyncClient, status: int,
                      body: dict[str, Any], headers: dict[str, str],
                      expected: tuple[str, bool, str]) -> None:
    httpx_mock.add_response(method="POST", url=f"{API}/refunds", status_code=status, json=body,
                            headers=headers)
    with pytest.raises(StepError) as info:
        await act(CreateRefund, http, payment_intent="pi_1")
    assert (info.value.code, info.value.retryable) == expected[:2]
    assert expected[2] in info.value.message


def test_refund_needs_one_target() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        CreateRefund.Input()
    with pytest.raises(ValueError, match="exactly one"):
        CreateRefund.Input(payment_intent="pi_1", charge="ch_1")


async def test_retried_refund_sends_the_same_key(hub: Hub, owner: identity.Principal,
                                                 httpx_mock: HTTPXMock) -> None:
    ws = owner.workspace_id
    httpx_mock.add_response(url=f"{API}/customers?limit=1", match_headers=AUTH,
                            json={"object": "list", "data": [], "has_more": False})
    await connections.create_connection(hub, workspace_id=ws, connector="stripe", name="stripe",
                                        values={"api_key": "sk_test_123"})
    httpx_mock.add_response(method="POST", url=f"{API}/refunds", status_code=500,
                            json=_error("api_error", "Something went wrong on Stripe's end."))
    httpx_mock.add_response(method="POST", url=f"{API}/refunds", json=REFUND)
    run_id = await start(hub, ws, [{
        "id": "refund", "use": "stripe.create_refund", "connection": "stripe",
        "retry": {"attempts": 3, "backoff": 0.01, "jitter": False},
        "input": {"payment_intent": "{{ trigger.pi }}"}}], data={"pi": "pi_1"})
    run = await finish(hub, ws, run_id)
    assert run["status"] == "succeeded", run
    sent = [r for r in httpx_mock.get_requests() if r.url.path == "/v1/refunds"]
    assert len(sent) == 2
    assert {r.headers["Idempotency-Key"] for r in sent} == {f"{run_id}:refund"}
    assert [s["status"] for s in run["steps"]] == ["failed", "succeeded"]
