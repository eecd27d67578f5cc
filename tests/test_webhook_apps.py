"""Webhook app shorthands (`app: github | slack | stripe`): the scheme, its dedupe key and
its handshakes (GitHub `ping`, Slack `url_verification`) with no run."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from apiclient import Api
from test_webhook_support import (
    add_secret,
    count_rows,
    create_hook,
    github_sig,
    hub_of,
    signed,
    webhook_zap,
    workspace,
)

from hub.intake.hooks import check_trigger
from hub.zaps import Zap


async def _github_app(api: Api) -> tuple[str, str]:
    await add_secret(hub_of(api), await workspace(api))
    return await create_hook(api, webhook_zap(app="github", connection="gh-secret"))


async def test_github_ping_answered_without_a_run(api: Api) -> None:
    zap_id, path = await _github_app(api)
    body = json.dumps({"zen": "Design for failure.", "hook_id": 123,
                       "hook": {"type": "Repository", "events": ["issues"]}}).encode()
    ping = await api.client.post(path, content=body, headers={
        "content-type": "application/json", "x-github-event": "ping",
        "x-github-delivery": "p-1", "x-hub-signature-256": github_sig(body)})
    assert ping.status_code == 200, ping.text
    assert ping.json() == {"ok": True, "event": "ping", "hook_id": 123}
    assert await count_rows(hub_of(api), zap_id) == (0, 0)
    forged = await api.client.post(path, content=body, headers={
        "content-type": "application/json", "x-github-event": "ping",
        "x-hub-signature-256": github_sig(body, "wrong")})
    assert forged.status_code == 401  # the signature is checked before any handshake


async def test_github_events_run_and_dedupe_by_delivery(api: Api) -> None:
    zap_id, path = await _github_app(api)
    first = await api.client.post(path, **signed({"action": "opened"}, delivery="d-9"))
    again = await api.client.post(path, **signed({"action": "opened"}, delivery="d-9"))
    assert first.status_code == 202 and again.json()["duplicate"] is True
    assert await count_rows(hub_of(api), zap_id) == (1, 1)


async def test_slack_app_handshake_and_event(api: Api) -> None:
    hub = hub_of(api)
    await add_secret(hub, await workspace(api), name="slack", secret="slack-secret")
    zap_id, path = await create_hook(api, webhook_zap(app="slack", connection="slack"))

    def post(payload: dict) -> dict:
        body, ts = json.dumps(payload).encode(), str(int(time.time()))
        sig = "v0=" + hmac.new(b"slack-secret", f"v0:{ts}:".encode() + body,
                               hashlib.sha256).hexdigest()
        return {"content": body, "headers": {"content-type": "application/json",
                                             "x-slack-request-timestamp": ts,
                                             "x-slack-signature": sig}}

    answer = await api.client.post(path, **post({"token": "t", "challenge": "c1",
                                                 "type": "url_verification"}))
    assert answer.status_code == 200 and answer.json() == {"challenge": "c1"}
    event = {"type": "event_callback", "event_id": "Ev1", "team_id": "T1",
             "event": {"type": "app_mention", "text": "<@U1> help", "channel": "C1"}}
    assert (await api.client.post(path, **post(event))).status_code == 202
    assert (await api.client.post(path, **post(event))).json()["duplicate"] is True
    assert await count_rows(hub, zap_id) == (1, 1)


@pytest.mark.parametrize("config,path", [
    ({"app": "github"}, "trigger.config.connection"),
    ({"app": "github", "signature": "stripe", "connection": "x"}, "trigger.config"),
    ({"app": "gitlab", "connection": "x"}, "trigger.config.app")])
def test_app_shorthand_validation(config: dict, path: str) -> None:
    from hub.errors import ZapInvalid
    from hub.plugins import create_plugin_manager
    from hub.registry import build_registry
    from hub.settings import Settings
    from hub.zaps import compile_zap

    registry = build_registry(create_plugin_manager(load_entrypoints=False, settings=Settings()))
    doc = webhook_zap(**config)
    with pytest.raises(ZapInvalid) as info:
        compile_zap(doc, registry)
        check_trigger(Zap.model_validate(doc), registry)
    assert info.value.errors[0]["path"].startswith(path)
