"""Real ``hub worker`` processes on one PostgreSQL for the scale-out and fault tests."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hub.settings import Settings


def node_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a node sharing ``settings``' database and key file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATA_DIR": str(settings.data_dir),
                "HUB_DATABASE_URL": settings.resolved_database_url,
                "HUB_POLL_INTERVAL": "0.2", "HUB_TRIGGER_REFRESH": "0.5"})
    if settings.database_schema:
        env["HUB_DATABASE_SCHEMA"] = settings.database_schema
    env.update({f"HUB_{k.upper()}": v for k, v in extra.items()})
    return env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGCONT)
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def servers(settings: Settings, n: int, log_dir: Path, **extra: str) -> Iterator[list[str]]:
    """``n`` ``hub serve`` processes on free ports; their base URLs, once all are up."""
    procs: list[subprocess.Popen[bytes]] = []
    bases: list[str] = []
    try:
        for i in range(n):
            port = _free_port()
            log = log_dir / f"serve{i}.log"
            env = node_env(settings, port=str(port), **extra)
            procs.append(subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env,
                                          stdout=log.open("wb"), stderr=subprocess.STDOUT,
                                          cwd=log_dir))
            bases.append(f"http://127.0.0.1:{port}")
        for i, proc in enumerate(procs):
            _wait_for(r"Uvicorn running", log_dir / f"serve{i}.log", proc)
        yield bases
    finally:
        _stop(procs)


def _wait_for(pattern: str, path: Path, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if re.search(pattern, path.read_text(errors="replace")):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in {path.read_text(errors='replace')}")


@contextmanager
def workers(settings: Settings, n: int, log_dir: Path, **extra: str) -> Iterator[
        list[subprocess.Popen[bytes]]]:
    """``n`` ``hub worker`` processes; stopped (SIGTERM, then killed) on exit."""
    procs: list[subprocess.Popen[bytes]] = []
    try:
        for i in range(n):
            out = (log_dir / f"worker{i}.log").open("wb")
            procs.append(subprocess.Popen([sys.executable, "-m", "hub", "worker"],
                                          env=node_env(settings, **extra), stdout=out,
                                          stderr=subprocess.STDOUT, cwd=log_dir))
        yield procs
    finally:
        _stop(procs)
