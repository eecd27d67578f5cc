"""Real ``hub worker`` processes on one PostgreSQL for the scale-out and fault tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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
