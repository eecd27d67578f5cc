"""Secrets stay out of logs on every ``hub.*`` logger and handler, and OAuth2 client secrets
and tokens stay out of captured logs and a real ``hub serve`` log."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_oauth
import test_oauth_app
from setuphelp import LINK, token_via_setup
from test_e2e import _free_port, _stop, _wait_for
from test_oauth import CLIENT_ID, CLIENT_SECRET, Provider
from test_oauth_app import _authorize, _expire, _run

from hub import redaction
from hub.context import Hub
from hub.logs import setup_logging

TESTS = Path(__file__).parent
server, provider = test_oauth.server, test_oauth.provider  # shared fixtures
client = test_oauth_app.client
SECRET = "sk-child-logger-4be1c07d9a"
STEP = {"id": "me", "use": "acme.whoami", "connection": "acme-main"}


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Logging as ``hub serve`` sets it up (DEBUG), with pytest's capture handler added."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    setup_logging("DEBUG")
    root.addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    try:
        yield caplog
    finally:
        root.handlers[:], root.level = saved, level


def _everything(caplog: pytest.LogCaptureFixture) -> str:
    fmt = logging.Formatter("%(name)s %(message)s %(exc_text)s")
    return caplog.text + "\n".join(fmt.format(r) for r in caplog.records)


async def test_child_logger_secret_is_masked_without_any_setup(
        hub: Hub, caplog: pytest.LogCaptureFixture) -> None:
    # Hub.open alone installs the masking; caplog's handler has no redacting filter
    redaction.register(SECRET)
    caplog.set_level(logging.DEBUG)
    logging.getLogger("hub.step").warning("calling with %s", SECRET)
    logging.getLogger("hub.step.deeper").info(f"header Bearer {SECRET}")
    try:
        raise RuntimeError(f"failed with {SECRET}")
    except RuntimeError:
        logging.getLogger("hub.engine").exception("step crashed")
    text = _everything(caplog)
    assert SECRET not in text
    assert "calling with **********" in caplog.text and "Bearer **********" in caplog.text
    assert "RuntimeError: failed with **********" in caplog.text


async def test_child_logger_masked_with_serve_logging(hub: Hub, logs: Any,
                                                      capsys: pytest.CaptureFixture) -> None:
    redaction.register(SECRET)
    logging.getLogger("hub.step").warning("token=%s", SECRET)
    logging.getLogger("hub.web.routers.x").error("echo %s", {"key": SECRET})
    assert SECRET not in _everything(logs) and "token=**********" in logs.text
    assert SECRET not in capsys.readouterr().err


async def test_oauth_flow_logs_hold_no_client_secret_or_token(
        client: httpx.AsyncClient, provider: Provider, logs: Any,
        capsys: pytest.CaptureFixture) -> None:
    assert (await _authorize(client, "acme-main", "application/json")).status_code == 200
    zap = (await client.post("/api/v1/zaps", json={
        "name": "who", "trigger": {"kind": "manual"}, "steps": [STEP]})).json()
    assert (await _run(client, zap["id"]))["status"] == "succeeded"
    await _expire(client, "acme-main")  # refresh before expiry
    assert (await _run(client, zap["id"]))["status"] == "succeeded"
    provider.access.clear()  # a 401: refresh and retry
    assert (await _run(client, zap["id"]))["status"] == "succeeded"
    provider.access.clear()
    provider.refresh.clear()  # revoked: needs_reauth
    assert (await _run(client, zap["id"]))["status"] == "failed"
    assert provider.refreshes == 3 and len(provider.issued) == 6
    for tok in provider.issued:  # tokens and the client secret are known to the masker
        logging.getLogger("hub.oauth").debug("token %s for %s", tok, CLIENT_SECRET)
    text = _everything(logs) + capsys.readouterr().err
    assert "token ********** for **********" in text
    for value in (CLIENT_SECRET, *provider.issued):
        assert value not in text


def test_real_serve_oauth_log_holds_no_secret(settings: Any, tmp_path: Path,
                                              provider: Provider) -> None:
    port = _free_port()
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "data"), "HUB_PORT": str(port),
           "HUB_POLL_INTERVAL": "0.05", "HUB_LOG_LEVEL": "DEBUG",
           "HUB_EGRESS_ALLOW": "127.0.0.1/32", "HUB_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "OAUTH_TEST_PROVIDER": provider.url("")}
    if settings.database_url:
        env |= {"HUB_DATABASE_URL": settings.database_url,
                "HUB_DATABASE_SCHEMA": settings.database_schema}
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(TESTS / "plugins" / "vault_oauth_serve.py"),
                                 "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            link = _wait_for(LINK.pattern, log_path).group(1)
            _wait_for("Uvicorn running", log_path)
            token = token_via_setup(f"http://127.0.0.1:{port}", link)
            texts = _exercise(f"http://127.0.0.1:{port}", token, provider)
        finally:
            assert _stop(proc) in (0, -signal.SIGTERM)
    log = log_path.read_text()
    assert f"POST {provider.url('/token')}" in log  # the exchanges were logged, not secrets
    assert provider.refreshes == 3 and len(provider.issued) == 6
    for value in (CLIENT_SECRET, *provider.issued):
        assert value not in log
        assert not any(value in t for t in texts)


def _exercise(base: str, token: str, provider: Provider) -> list[str]:
    texts = []
    provider.expires_in = 30  # inside the refresh margin: the first run refreshes
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as c:
        r = c.post("/api/v1/oauth/start", json={"connector": "acme", "name": "acme-main",
                                                "client_id": CLIENT_ID,
                                                "client_secret": CLIENT_SECRET})
        assert r.status_code == 200, r.text
        back = httpx.get(r.json()["authorize_url"]).headers["location"]
        cb = httpx.get(back, headers={"Accept": "text/html"})
        assert cb.status_code == 200 and "you can close this window" in cb.text
        provider.expires_in = 3600
        zap = c.post("/api/v1/zaps", json={"name": "who", "trigger": {"kind": "manual"},
                                           "steps": [STEP]}).json()
        for expect in ("succeeded", "succeeded", "failed"):
            if expect == "failed":
                provider.access.clear()
                provider.refresh.clear()
            else:
                provider.access.clear()  # each run meets a 401 and refreshes
            run = c.post(f"/api/v1/zaps/{zap['id']}/runs?wait=20", json={"input": {}})
            assert run.json()["status"] == expect, run.text
            texts.append(run.text)
        texts += [cb.text, r.text, c.get("/api/v1/connections").text, c.get("/metrics").text]
    return texts
