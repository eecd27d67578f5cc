"""End to end over real HTTP on loopback: `hub serve` without a worker plus a separate
`hub worker` process on the same database."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx
from setuphelp import LINK, token_via_setup
from test_api_zaps import ZAP


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: list[str], env: dict[str, str], log) -> subprocess.Popen:  # type: ignore[no-untyped-def]
    return subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, stdout=log,
                            stderr=subprocess.STDOUT)


def _wait_for(pattern: str, path, timeout: float = 30.0) -> re.Match:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text())
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{pattern!r} not in {path.read_text()}")


def _stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise


def test_serve_and_separate_worker(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    env = {**os.environ, "HUB_DATA_DIR": str(tmp_path / "data"), "HUB_PORT": str(port),
           "HUB_POLL_INTERVAL": "0.05", "HUB_LOG_FORMAT": "json"}
    if settings.database_url:
        env |= {"HUB_DATABASE_URL": settings.database_url,
                "HUB_DATABASE_SCHEMA": settings.database_schema}
    serve_log, worker_log = tmp_path / "serve.log", tmp_path / "worker.log"
    with serve_log.open("w") as slog, worker_log.open("w") as wlog:
        serve = _start(["serve", "--no-worker"], env, slog)
        try:
            link = _wait_for(LINK.pattern, serve_log).group(1)
            _wait_for("Uvicorn running", serve_log)
            token = token_via_setup(f"http://127.0.0.1:{port}", link)
            worker = _start(["worker"], env, wlog)
            try:
                _exercise(port, token)
            finally:
                assert _stop(worker) == 0
        finally:
            # uvicorn re-raises SIGTERM after its graceful shutdown
            assert _stop(serve) in (0, -signal.SIGTERM)
    assert "Application shutdown complete" in serve_log.read_text()
    for line in worker_log.read_text().splitlines():
        assert json.loads(line)["level"]  # structured logs, one JSON object per line
    assert token not in worker_log.read_text()


def _exercise(port: int, token: str) -> None:
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=auth, timeout=30) as c:
        assert c.get("/healthz").json()["worker"] is False
        zid = c.post("/api/v1/zaps", json=ZAP).json()["id"]
        r = c.post(f"/api/v1/zaps/{zid}/runs?wait=20", json={"input": {"name": "E", "vip": True}})
        assert r.status_code == 200, r.text
        assert r.json()["result"] == {"text": "Hello, E!"}
        assert 'hub_runs{status="succeeded"} 1.0' in c.get("/metrics").text
        assert c.get("/api/v1/zaps", headers={"Authorization": "Bearer nope"}).status_code == 401
