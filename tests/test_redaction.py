"""Secrets stay out of logs (filter, caplog, a real `hub serve`), errors, API answers,
metrics and exports."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from pydantic import BaseModel, SecretStr
from setuphelp import LINK, token_via_setup
from test_e2e import _free_port, _stop, _wait_for
from vaulthelp import SECRET, VALUES, echo_zap

from hub import redaction
from hub.logs import setup_logging

TESTS = Path(__file__).parent


def test_mask_nested_values_and_secret_fields() -> None:
    class Auth(BaseModel):
        token: SecretStr
        user: str

    class Creds(BaseModel):
        api_key: SecretStr
        auth: Auth
        short: SecretStr

    creds = Creds(api_key=SECRET, auth=Auth(token="tok-abcdefgh", user="ann"), short="ab")
    values = redaction.secret_values(creds)
    assert set(values) == {SECRET, "tok-abcdefgh"}  # too-short values would mask words
    data = {"a": [f"x {SECRET} y", {"tok-abcdefgh": 1}], "n": 3, "t": None}
    assert redaction.mask(data, values) == {"a": ["x ********** y", {"**********": 1}],
                                            "n": 3, "t": None}
    assert redaction.mask(data, ()) is data


def test_filter_masks_message_args_extras_and_tracebacks(caplog: pytest.LogCaptureFixture,
                                                         capsys: pytest.CaptureFixture) -> None:
    redaction.register(SECRET)
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        setup_logging("INFO", "json")
        log = logging.getLogger("hub.step")
        log.warning("calling with %s", SECRET, extra={"header": f"Bearer {SECRET}"})
        try:
            raise RuntimeError(f"server echoed {SECRET}")
        except RuntimeError:
            log.exception("step failed")
        logging.getLogger("hub").info("direct %s", SECRET)
        setup_logging("INFO", "text")
        log.error("text format %s", SECRET)
    finally:
        root.handlers[:], root.level = saved, level
    err = capsys.readouterr().err
    assert SECRET not in err and err.count("**********") >= 5
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines[0]["header"] == "Bearer **********"
    assert "RuntimeError: server echoed **********" in lines[1]["exc"]
    assert "text format **********" in err


def _env(settings, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "data"), "HUB_PORT": "0",
           "HUB_POLL_INTERVAL": "0.05", "HUB_LOG_LEVEL": "DEBUG"}
    if settings.database_url:
        env |= {"HUB_DATABASE_URL": settings.database_url,
                "HUB_DATABASE_SCHEMA": settings.database_schema}
    return env


def test_real_serve_log_and_responses_hold_no_secret(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {**_env(settings, tmp_path), "HUB_PORT": str(port)}
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as out:
        proc = subprocess.Popen([sys.executable, str(TESTS / "plugins" / "vault_serve.py"),
                                 "serve"], env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            link = _wait_for(LINK.pattern, log_path).group(1)
            _wait_for("Uvicorn running", log_path)
            token = token_via_setup(f"http://127.0.0.1:{port}", link)
            texts = _exercise(f"http://127.0.0.1:{port}", token)
        finally:
            assert _stop(proc) in (0, -signal.SIGTERM)
    log = log_path.read_text()
    assert "calling the service with key **********" in log  # the action's own log line
    assert SECRET not in log
    for text in texts:
        assert SECRET not in text


def _exercise(base: str, token: str) -> list[str]:
    auth = {"Authorization": f"Bearer {token}"}
    texts = []
    with httpx.Client(base_url=base, headers=auth, timeout=30) as c:
        made = c.post("/api/v1/connections", json={"connector": "vlt", "name": "main",
                                                    "values": VALUES})
        assert made.status_code == 201, made.text
        zap = c.post("/api/v1/zaps", json=echo_zap()).json()
        ok = c.post(f"/api/v1/zaps/{zap['id']}/runs?wait=20", json={"input": {"text": "hi"}})
        assert ok.status_code == 200 and ok.json()["status"] == "succeeded", ok.text
        bad = c.post("/api/v1/zaps", json=echo_zap("failing", fail=True)).json()
        failed = c.post(f"/api/v1/zaps/{bad['id']}/runs?wait=20", json={"input": {"text": "x"}})
        assert failed.json()["status"] == "failed", failed.text
        boom = c.post("/api/v1/connections", json={
            "connector": "vlt", "name": "boom", "values": {**VALUES, "region": "boom"}})
        assert boom.json()["code"] == "unknown"
        texts += [made.text, ok.text, failed.text, boom.text]
        for url in ("/api/v1/connections", "/api/v1/connections/main", "/metrics",
                    f"/api/v1/zaps/{zap['id']}/export", f"/api/v1/runs?zap_id={zap['id']}",
                    f"/api/v1/runs/{ok.json()['id']}"):
            r = c.get(url)
            assert r.status_code == 200, (url, r.text)
            texts.append(r.text)
    return texts
