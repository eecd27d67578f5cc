"""The public helpers connectors share: ``hub.provider_error``/``retry_after``,
``hub.resolve_egress`` with its operator hint, and the contract suite's poll-trigger checks."""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx
import pytest
from connhelp import client
from pydantic import BaseModel, Field

from hub import (
    Connector,
    EgressDenied,
    PollResult,
    PollTrigger,
    provider_error,
    resolve_egress,
    retry_after,
)
from hub.egress import EgressPolicy, allow_hint
from hub.testing import check_connector


def test_retry_after_forms() -> None:
    assert retry_after({"retry-after": "12"}) == 12.0
    later = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after({"retry-after": later}) or 0) <= 31
    assert retry_after({"retry-after": "soon"}) is None and retry_after({}) is None


@pytest.mark.parametrize("body,message", [
    ({"message": "Bad credentials"}, "Bad credentials"),
    ({"error": {"code": 404, "message": "Requested entity was not found.",
                "status": "NOT_FOUND"}}, "Requested entity was not found."),
    ({"error": "invalid_grant", "error_description": "Token expired"}, "Token expired"),
    ({"error": "invalid_grant"}, "invalid_grant"), ({"detail": "Nope"}, "Nope"),
    ("plain text failure", "plain text failure"), ([1, 2], "Bad Request")])
def test_messages_from_common_bodies(body: Any, message: str) -> None:
    kwargs = {"text": body} if isinstance(body, str) else {"json": body}
    err = provider_error(httpx.Response(400, **kwargs), provider="Acme")
    assert err.message == f"Acme: {message} (HTTP 400)"
    assert (err.code, err.retryable, err.extra["status"]) == ("provider_error", False, 400)


def test_codes_and_overrides() -> None:
    limited = provider_error(httpx.Response(429, headers={"Retry-After": "3"}), provider="A")
    assert (limited.code, limited.retryable, limited.extra["retry_after"]) == (
        "rate_limited", True, 3.0)
    waited = provider_error(httpx.Response(403), provider="A", code="rate_limited", wait=9)
    assert waited.retryable and waited.extra["retry_after"] == 9
    assert provider_error(httpx.Response(408), provider="A").code == "timeout"
    custom = provider_error(httpx.Response(200), provider="A", code="channel_not_found",
                            message="channel_not_found")
    assert (custom.code, custom.retryable) == ("channel_not_found", False)
    long = provider_error(httpx.Response(400, text="x" * 5000), provider="A")
    assert len(long.message) < 600
    timeout = provider_error(httpx.ReadTimeout("slow"), provider="A")
    down = provider_error(httpx.ConnectError("refused"), provider="A")
    assert (timeout.code, down.code) == ("timeout", "provider_unavailable")
    assert timeout.retryable and down.retryable


def test_allow_hint() -> None:
    assert allow_hint("wiki.corp.example.", ["10.1.2.3"]).endswith(
        "HUB_EGRESS_ALLOW=wiki.corp.example")
    assert allow_hint("10.1.2.3", ["10.1.2.3"]).endswith("HUB_EGRESS_ALLOW=10.1.2.3/32")
    assert allow_hint("[::1]", ["::1"]).endswith("HUB_EGRESS_ALLOW=::1/128")
    with pytest.raises(EgressDenied, match="HUB_EGRESS_ALLOW=192.168.1.9/32"):
        EgressPolicy().check("192.168.1.9", ["192.168.1.9"])


async def test_resolve_egress() -> None:
    with pytest.raises(EgressDenied, match="HUB_EGRESS_ALLOW=127.0.0.1/32"):
        await resolve_egress(None, "127.0.0.1", 25)  # not the hub's client: strict default
    async with client("127.0.0.1/32") as http:
        assert await resolve_egress(http, "127.0.0.1", 25) == ["127.0.0.1"]
        view = http.for_hosts(["smtp.example.com"])  # type: ignore[attr-defined]
        with pytest.raises(EgressDenied, match="not among the connector's hosts"):
            await resolve_egress(view, "127.0.0.1", 25)
        with pytest.raises(EgressDenied):
            await resolve_egress(http, "169.254.169.254", 80)


class _Config(BaseModel):
    url: str = Field(title="URL")


class _Poll(PollTrigger):
    key, title, Config = "items", "Items", _Config

    async def poll(self, config: Any, creds: Any, cursor: Any, http: Any) -> PollResult:
        return PollResult([])


def test_contract_accepts_poll_only_connectors_and_checks_their_triggers() -> None:
    check_connector(type("Src", (Connector,), {"key": "src", "title": "Src",
                                               "triggers": (_Poll,)}))
    untitled = type("C", (BaseModel,), {"__annotations__": {"n": int}, "n": 1})
    bad = type("Bad", (_Poll,), {"Config": untitled, "dedupe_key": ""})
    with pytest.raises(AssertionError) as info:
        check_connector(type("Src", (Connector,), {"key": "src", "title": "Src",
                                                   "triggers": (bad,)}))
    assert "poll trigger 'src.items': Config.n: needs a title" in str(info.value)
    assert "'dedupe_key' must name the item field" in str(info.value)
