"""The ``slack`` connector against mocks shaped like Slack's Web API (errors come as HTTP 200
with ``{"ok": false, "error": ...}``), incoming webhooks, and the OAuth v2 install."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from connhelp import ctx
from hub_plugins.slack.actions import PostMessage, SendWebhook
from hub_plugins.slack.api import SlackCredentials
from hub_plugins.slack.connector import Slack
from pytest_httpx import HTTPXMock
from test_engine import finish, start

from hub import StepError
from hub import oauth as hub_oauth
from hub.context import Hub
from hub.errors import HubError
from hub.services import identity
from hub.testing import check_connector

POST = "https://slack.com/api/chat.postMessage"
HOOK = "https://hooks.slack.com/services/T000/B000/XXXX"


def test_contract() -> None:
    check_connector(Slack)


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient() as c:
        yield c


def creds(**values: Any) -> SlackCredentials:
    return SlackCredentials.model_validate({"access_token": "xoxb-1", **values})


async def post(http: httpx.AsyncClient, **payload: Any) -> dict[str, Any]:
    out = await PostMessage().run(PostMessage.Input.model_validate(payload), ctx(creds(), http))
    return out.model_dump()


async def test_post_message(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(
        method="POST", url=POST, match_headers={"Authorization": "Bearer xoxb-1"},
        match_json={"channel": "#support", "text": "hi", "thread_ts": "1503435956.000247",
                    "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]},
        json={"ok": True, "channel": "C123ABC456", "ts": "1503435957.000100",
              "message": {"text": "hi", "type": "message", "thread_ts": "1503435956.000247"}})
    out = await post(http, channel="#support", text="hi", thread_ts="1503435956.000247",
                     blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}])
    assert out == {"channel": "C123ABC456", "ts": "1503435957.000100",
                   "thread_ts": "1503435956.000247"}


@pytest.mark.parametrize("status,body,headers,expected", [
    (200, {"ok": False, "error": "channel_not_found"}, {}, ("provider_error", False)),
    (200, {"ok": False, "error": "invalid_auth"}, {}, ("invalid_auth", False)),
    (200, {"ok": False, "error": "missing_scope", "needed": "chat:write"}, {},
     ("invalid_auth", False)),
    (429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "30"}, ("rate_limited", True)),
    (200, {"ok": False, "error": "internal_error"}, {}, ("provider_unavailable", True)),
    (503, {"ok": False, "error": "service_unavailable"}, {}, ("provider_unavailable", True))])
async def test_post_message_errors(httpx_mock: HTTPXMock, http: httpx.AsyncClient, status: int,
                                   body: dict[str, Any], headers: dict[str, str],
                                   expected: tuple[str, bool]) -> None:
    httpx_mock.add_response(method="POST", url=POST, status_code=status, json=body,
                            headers=headers)
    with pytest.raises(StepError) as info:
        await post(http, channel="C1", text="x")
    assert (info.value.code, info.value.retryable) == expected
    assert body["error"] in info.value.message
    if status == 429:
        assert info.value.extra["retry_after"] == 30.0


async def test_malformed_answer(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(method="POST", url=POST, text="<html>oops</html>")
    with pytest.raises(StepError) as info:
        await post(http, channel="C1", text="x")
    assert info.value.code == "invalid_response"


def test_message_needs_text_or_blocks() -> None:
    with pytest.raises(ValueError, match="text or blocks"):
        PostMessage.Input(channel="C1")


async def test_send_webhook(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(method="POST", url=HOOK, match_json={"text": "deployed"}, text="ok")
    c = SlackCredentials(webhook_url=HOOK)
    out = await SendWebhook().run(SendWebhook.Input(text="deployed"), ctx(c, http))
    assert out.ok is True


@pytest.mark.parametrize("status,text,code", [
    (404, "no_service", "invalid_auth"), (403, "invalid_token", "invalid_auth"),
    (400, "invalid_payload", "provider_error"), (410, "channel_is_archived", "provider_error"),
    (500, "", "provider_unavailable")])
async def test_send_webhook_errors(httpx_mock: HTTPXMock, http: httpx.AsyncClient, status: int,
                                   text: str, code: str) -> None:
    httpx_mock.add_response(method="POST", url=HOOK, status_code=status, text=text)
    with pytest.raises(StepError) as info:
        await SendWebhook().run(SendWebhook.Input(text="x"),
                                ctx(SlackCredentials(webhook_url=HOOK), http))
    assert info.value.code == code and "XXXX" not in info.value.message


def test_credentials_rules() -> None:
    with pytest.raises(ValueError, match="bot token or an incoming webhook"):
        SlackCredentials()
    with pytest.raises(ValueError, match="must start with https://hooks.slack.com/"):
        SlackCredentials(webhook_url="https://evil.example/services/x")
    assert "xoxb-1" not in creds().model_dump_json()


async def test_wrong_kind_of_connection(http: httpx.AsyncClient) -> None:
    with pytest.raises(StepError, match="no incoming webhook"):
        await SendWebhook().run(SendWebhook.Input(text="x"), ctx(creds(), http))
    with pytest.raises(StepError, match="no bot token"):
        await PostMessage().run(PostMessage.Input(channel="C", text="x"),
                                ctx(SlackCredentials(webhook_url=HOOK), http))


# --- OAuth v2 install through the hub's flow, then a run ---------------------------------------

ACCESS = "https://slack.com/api/oauth.v2.access"


async def _install(hub: Hub, ws: str, httpx_mock: HTTPXMock, answer: dict[str, Any]) -> Any:
    started = await hub_oauth.start(hub, workspace_id=ws, connector="slack", name="team",
                                    client_id="123.456", client_secret="app-secret")
    query = parse_qs(urlparse(started["authorize_url"]).query)
    assert query["scope"] == ["chat:write,chat:write.public"]
    httpx_mock.add_response(method="POST", url=ACCESS, json=answer)
    return await hub_oauth.finish(hub, code="code-1", state=started["state"])


async def test_oauth_install_then_post(hub: Hub, owner: identity.Principal,
                                       httpx_mock: HTTPXMock) -> None:
    ws = owner.workspace_id
    httpx_mock.add_response(method="POST", url="https://slack.com/api/auth.test",
                            match_headers={"Authorization": "Bearer xoxb-installed"},
                            json={"ok": True, "team": "Acme", "user": "bot", "team_id": "T1",
                                  "user_id": "U1", "bot_id": "B1"})
    conn = await _install(hub, ws, httpx_mock, {
        "ok": True, "access_token": "xoxb-installed", "token_type": "bot",
        "scope": "chat:write,chat:write.public", "bot_user_id": "U1", "app_id": "A1",
        "team": {"name": "Acme", "id": "T1"}, "enterprise": None, "is_enterprise_install": False,
        "authed_user": {"id": "U2", "scope": "", "access_token": "xoxp-user",
                        "token_type": "user"},
        "incoming_webhook": {"channel": "#ops", "channel_id": "C9",
                             "configuration_url": "https://acme.slack.com/services/B9",
                             "url": HOOK}})
    assert conn["name"] == "team"
    httpx_mock.add_response(method="POST", url=POST,
                            match_headers={"Authorization": "Bearer xoxb-installed"},
                            json={"ok": True, "channel": "C9", "ts": "1.2", "message": {}})
    httpx_mock.add_response(method="POST", url=HOOK, text="ok")
    run_id = await start(hub, ws, [
        {"id": "say", "use": "slack.post_message", "connection": "team",
         "input": {"channel": "#ops", "text": "{{ trigger.text }}"}},
        {"id": "hook", "use": "slack.send_webhook", "connection": "team",
         "input": {"text": "also"}}], data={"text": "hello"})
    run = await finish(hub, ws, run_id)
    assert run["status"] == "succeeded", run
    assert run["result"] == {"ok": True}
    sent = [r for r in httpx_mock.get_requests() if r.url == POST]
    assert json.loads(sent[0].read()) == {"channel": "#ops", "text": "hello"}


async def test_oauth_install_refused(hub: Hub, owner: identity.Principal,
                                     httpx_mock: HTTPXMock) -> None:
    with pytest.raises(HubError, match="invalid_code") as info:
        await _install(hub, owner.workspace_id, httpx_mock, {"ok": False,
                                                             "error": "invalid_code"})
    assert info.value.code == "oauth_token_failed"
