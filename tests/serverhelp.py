"""A real `hub serve` process on loopback for tests that need real sockets and timing."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from apiclient import Api
from setuphelp import LINK, token_via_setup

from hub.settings import Settings
from hub.testing.people import owner_token
from hub.web.app import create_app


@dataclass
class Server:
    port: int
    token: str
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, **kw) -> httpx.Client:  # type: ignore[no-untyped-def]
        return httpx.Client(base_url=self.base, timeout=30, **kw,
                            headers={"Authorization": f"Bearer {self.token}"})

    def connect(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=10)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(pattern: str, path: Path, proc: subprocess.Popen, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(pattern, path.read_text())
        if found:
            return found.group(1) if found.re.groups else found.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"{pattern!r} not in {path.read_text()}")


@contextmanager
def hub_server(data_dir: Path, **settings: str) -> Iterator[Server]:
    """`python -m hub serve` on a free port with ``HUB_<NAME>`` settings; stopped on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {"HUB_DATA_DIR": str(data_dir), "HUB_PORT": str(port), "HUB_POLL_INTERVAL": "0.05"}
    env |= {f"HUB_{k.upper()}": v for k, v in settings.items()}
    log = data_dir.parent / f"{data_dir.name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=data_dir.parent)
        try:
            link = _wait_for(LINK.pattern, log, proc)  # the setup link's token
            _wait_for("Uvicorn running", log, proc)
            yield Server(port, token_via_setup(f"http://127.0.0.1:{port}", link), log)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and how long that took."""
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data, time.monotonic() - started


@asynccontextmanager
async def running_api(settings: Settings) -> AsyncIterator[Api]:
    """The real app with its lifespan, over ASGI, and an owner's token."""
    app = create_app(settings, on_setup_token=lambda tok, _s: None)
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), \
            httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield Api(app, client, await owner_token(app.state.hub))
