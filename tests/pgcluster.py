"""A private PostgreSQL server for tests that restart the database (never the shared one)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest


def _bindir() -> Path | None:
    pg_config = shutil.which("pg_config")
    if pg_config:
        found = Path(subprocess.run([pg_config, "--bindir"], capture_output=True, text=True,
                                    check=False).stdout.strip())
        if (found / "initdb").exists():
            return found
    return next((p for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
                 if (p / "initdb").exists()), None)


@dataclass
class Cluster:
    bindir: Path
    data: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        opts = f"-p {self.port} -k {self.data.parent} -c listen_addresses=127.0.0.1"
        _as_postgres([str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log),
                      "-o", opts, "-w", "-t", "60", *args])

    def restart(self) -> None:
        self.ctl("restart", "-m", "fast")


def _as_postgres(cmd: list[str]) -> None:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    subprocess.run(cmd, check=True, capture_output=True)


@contextmanager
def private_cluster() -> Iterator[Cluster]:
    """initdb + start a server on a free loopback port; stopped and removed on exit."""
    bindir = _bindir()
    if bindir is None or shutil.which("runuser") is None and os.geteuid() == 0:
        pytest.skip("needs the PostgreSQL server binaries (initdb, pg_ctl)")
    # not under pytest's tmp_path: the server's user must be able to reach it
    root = Path(tempfile.mkdtemp(prefix="hub-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data = root / "data"
    _as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                  "-E", "UTF8", "--no-sync"])
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cluster = Cluster(bindir, data, port, root / "server.log")
    cluster.ctl("start")
    try:
        yield cluster
    finally:
        try:
            cluster.ctl("stop", "-m", "immediate")
        finally:
            shutil.rmtree(root, ignore_errors=True)
