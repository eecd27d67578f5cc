"""Webhooks end to end through the app: accept, dedupe, limits, handshakes, sync answers."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time

from apiclient import Api
from test_webhook_support import (
    SECRET,
    add_secret,
    count_rows,
    create_hook,
    github_zap,
    hub_of,
    signed,
    webhook_zap,
    workspace,
)

from hub.testing.people import owner_token


async def _wait_run(api: Api, run_id: str) -> dict:
    for _ in range(200):
        run = (await api.get(f"/api/v1/runs/{run_id}")).json()
        if run["status"] in ("succeeded", "failed"):
            return run
        await asyncio.sleep(0.02)
    raise AssertionError("run did not finish")


async def test_signed_delivery_is_stored_and_runs(api: Api) -> None:
    zap_id, path = await github_zap(api)
    hook_id = path.rsplit("/", 1)[1]
    assert len(hook_id) >= 32  # 192 random bits
    answer = await api.client.post(path + "?source=ci", **signed({"ref": "main"}))
    assert answer.status_code == 202, answer.text
    run_id = answer.json()["run_id"]
    run = await _wait_run(api, run_id)
    assert run["status"] == "succeeded"
    assert run["result"] == {"body": {"ref": "main"}, "event": "push"}
    trigger = run["trigger"]
    assert trigger["query"] == {"source": "ci"}
    assert "x-hub-signature-256" not in trigger["headers"]
    assert trigger["headers"]["x-github-delivery"] == "d-1"
    assert await count_rows(hub_of(api), zap_id) == (1, 1)
    assert SECRET not in str(run)


async def test_sequential_duplicate_answers_original_run(api: Api) -> None:
    zap_id, path = await github_zap(api)
    first = await api.client.post(path, **signed({"n": 1}, delivery="same"))
    again = await api.client.post(path, **signed({"n": 1}, delivery="same"))
    other = await api.client.post(path, **signed({"n": 2}, delivery="other"))
    assert first.status_code == 202 and other.status_code == 202
    assert again.status_code == 200
    assert again.json() == {"run_id": first.json()["run_id"], "duplicate": True}
    assert await count_rows(hub_of(api), zap_id) == (2, 2)


async def test_concurrent_duplicates_start_one_run(api: Api) -> None:
    zap_id, path = await github_zap(api)
    answers = await asyncio.gather(*[
        api.client.post(path, **signed({"n": 1}, delivery="burst")) for _ in range(25)])
    codes = sorted(a.status_code for a in answers)
    assert codes == [200] * 24 + [202]
    assert len({a.json()["run_id"] for a in answers}) == 1
    assert await count_rows(hub_of(api), zap_id) == (1, 1)


async def test_expired_dedupe_window_accepts_again(api: Api) -> None:
    from hub.intake.tables import trigger_events

    zap_id, path = await github_zap(api)
    first = await api.client.post(path, **signed({}, delivery="old"))
    hub = hub_of(api)
    async with hub.db.write() as conn:
        await conn.execute(trigger_events.update().values(expires_at=1.0))
    again = await api.client.post(path, **signed({}, delivery="old"))
    assert again.status_code == 202
    assert again.json()["run_id"] != first.json()["run_id"]
    assert await count_rows(hub, zap_id) == (2, 1)


async def test_rejections_store_nothing_and_are_counted(api: Api) -> None:
    zap_id, path = await github_zap(api, max_body_bytes=64)
    bad = signed({"a": 1}, secret="wrong")
    assert (await api.client.post(path, **bad)).status_code == 401
    missing = signed({"a": 1})
    del missing["headers"]["x-hub-signature-256"]
    answer = await api.client.post(path, **missing)
    assert answer.status_code == 401 and answer.json()["code"] == "bad_signature"
    tampered = signed({"a": 1})
    tampered["content"] = b'{"a": 2}'
    assert (await api.client.post(path, **tampered)).status_code == 401
    big = await api.client.post(path, **signed({"x": "y" * 100}))
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
    broken = await api.client.post(path, **signed(b'{"a": '))
    assert broken.status_code == 400 and broken.json()["code"] == "malformed_json"
    assert (await api.client.get(path)).status_code == 405
    assert await count_rows(hub_of(api), zap_id) == (0, 0)
    metrics = (await api.client.get("/metrics")).text
    for outcome, n in (("bad_signature", 3), ("payload_too_large", 1), ("malformed_json", 1),
                       ("method_not_allowed", 1)):
        assert f'hub_webhook_requests_total{{outcome="{outcome}"}} {n}.0' in metrics
    assert SECRET not in metrics


async def test_unknown_disabled_and_deleted_hooks_look_alike(api: Api) -> None:
    zap_id, path = await github_zap(api)
    unknown = await api.client.post("/hooks/nope", **signed({}))
    assert unknown.status_code == 404
    await api.post(f"/api/v1/zaps/{zap_id}/disable")
    disabled = await api.client.post(path, **signed({}))
    assert disabled.status_code == 404 and disabled.json() == unknown.json()
    await api.post(f"/api/v1/zaps/{zap_id}/enable")
    assert (await api.client.post(path, **signed({}))).status_code == 202
    await api.delete(f"/api/v1/zaps/{zap_id}")
    assert (await api.client.post(path, **signed({}, delivery="x"))).json() == unknown.json()


async def test_rate_limit_answers_429_with_retry_after(api: Api) -> None:
    zap_id, path = await create_hook(api, webhook_zap(rate_limit=0.5, burst=2))
    codes = [(await api.client.post(path, json={"i": i})) for i in range(4)]
    assert [c.status_code for c in codes] == [202, 202, 429, 429]
    assert int(codes[2].headers["retry-after"]) >= 1
    assert codes[2].json()["code"] == "rate_limited"
    assert await count_rows(hub_of(api), zap_id) == (2, 2)


async def test_body_kinds_reach_the_run(api: Api) -> None:
    _, path = await create_hook(api, webhook_zap(steps=[
        {"id": "b", "use": "core.transform", "input": {"body": "{{ trigger.body }}"}}]))
    form = await api.client.post(path, data={"a": "1", "b": "two"})
    text = await api.client.post(path, content=b"hello", headers={"content-type": "text/plain"})
    raw = await api.client.post(path, content=b"\xff\x00",
                                headers={"content-type": "application/octet-stream"})
    results = [(await _wait_run(api, r.json()["run_id"]))["result"]["body"]
               for r in (form, text, raw)]
    assert results == [{"a": "1", "b": "two"}, "hello", "/wA="]


async def test_handshakes_start_no_run(api: Api) -> None:
    hub = hub_of(api)
    ws = await workspace(api)
    await add_secret(hub, ws, name="slack", secret="slack-secret")
    await add_secret(hub, ws, name="meta", secret="verify-me")
    slack_zap, slack_path = await create_hook(api, webhook_zap(
        name="slack", signature="slack", connection="slack"))
    body = json.dumps({"token": "t", "challenge": "abc123", "type": "url_verification"}).encode()
    ts = str(int(time.time()))
    sig = "v0=" + hmac.new(b"slack-secret", f"v0:{ts}:".encode() + body,
                           hashlib.sha256).hexdigest()
    answer = await api.client.post(slack_path, content=body, headers={
        "content-type": "application/json", "x-slack-request-timestamp": ts,
        "x-slack-signature": sig})
    assert answer.status_code == 200 and answer.json() == {"challenge": "abc123"}
    meta_zap, meta_path = await create_hook(api, webhook_zap(
        name="meta", challenge=True, connection="meta"))
    echo = await api.client.get(meta_path, params={
        "hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": "verify-me"})
    assert echo.status_code == 200 and echo.text == "1158201444"
    wrong = await api.client.get(meta_path, params={
        "hub.challenge": "1", "hub.verify_token": "nope"})
    assert wrong.status_code == 401
    assert await count_rows(hub, slack_zap) == (0, 0)
    assert await count_rows(hub, meta_zap) == (0, 0)


async def test_sync_mode_answers_with_the_respond_step(api: Api) -> None:
    _, path = await create_hook(api, webhook_zap(response="sync", steps=[
        {"id": "calc", "use": "core.transform", "input": {"n": "{{ trigger.body.n }}"}},
        {"id": "reply", "use": "webhook.respond", "input": {
            "status": 201, "headers": {"X-Answer": "yes"},
            "body": {"doubled": "{{ steps.calc.n }}"}}}]))
    answer = await api.client.post(path, json={"n": 21})
    assert answer.status_code == 201, answer.text
    assert answer.headers["x-answer"] == "yes"
    assert answer.json() == {"doubled": 21}


async def test_invalid_webhook_zaps_are_refused(api: Api) -> None:
    bad = await api.post("/api/v1/zaps", json=webhook_zap(signature="gitlub", connection="x"))
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["path"] == "trigger.config.signature"
    no_conn = await api.post("/api/v1/zaps", json=webhook_zap(signature="github"))
    assert no_conn.json()["errors"][0]["path"] == "trigger.config.connection"
    bad_key = await api.post("/api/v1/zaps", json=webhook_zap(dedupe="body.["))
    assert bad_key.json()["errors"][0]["path"] == "trigger.config.dedupe"
    listed = (await api.get("/api/v1/zaps")).json()
    assert listed == []


async def test_sync_mode_past_the_wait_answers_202(settings) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from hub.web.app import create_app

    app = create_app(settings.model_copy(update={"run_worker": False}),
                     on_setup_token=lambda tok, _s: None)
    async with app.router.lifespan_context(app):
        tokens = [await owner_token(app.state.hub)]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            api = Api(app, client, tokens[0])
            _, path = await create_hook(api, webhook_zap(response="sync", sync_timeout=0.2))
            answer = await client.post(path, json={"n": 1})
    assert answer.status_code == 202
    assert answer.json()["status"] == "queued"


async def test_rotated_secret_and_no_secret_in_logs(api: Api, caplog) -> None:  # type: ignore[no-untyped-def]
    hub = hub_of(api)
    ws = await workspace(api)
    await add_secret(hub, ws, name="rot", secret="new-secret-value",
                     previous="old-secret-value")
    zap_id, path = await create_hook(api, webhook_zap(signature="github", connection="rot"))
    old = await api.client.post(path, **signed({"v": 1}, delivery="1",
                                               secret="old-secret-value"))
    new = await api.client.post(path, **signed({"v": 2}, delivery="2",
                                               secret="new-secret-value"))
    forged = await api.client.post(path, **signed({"v": 3}, delivery="3", secret="guess"))
    assert (old.status_code, new.status_code, forged.status_code) == (202, 202, 401)
    seen = [old.text, new.text, forged.text, caplog.text,
            (await api.get(f"/api/v1/zaps/{zap_id}")).text,
            (await api.get(f"/api/v1/runs/{old.json()['run_id']}")).text,
            (await api.client.get("/metrics")).text]
    for text in seen:
        assert "secret-value" not in text


async def test_signing_secret_in_use_cannot_be_deleted(api: Api) -> None:
    zap_id, _ = await github_zap(api)
    listed = (await api.get("/api/v1/connections")).json()
    conn = next(c for c in (listed["items"] if isinstance(listed, dict) else listed)
                if c["name"] == "gh-secret")
    refused = await api.delete(f"/api/v1/connections/{conn['id']}")
    assert refused.status_code == 409 and refused.json()["code"] == "connection_in_use"
    assert refused.json()["zaps"] == ["hooked"]
    assert (await api.delete(f"/api/v1/zaps/{zap_id}")).status_code == 204
    assert (await api.delete(f"/api/v1/connections/{conn['id']}")).status_code == 204
