"""Peak memory of `hub serve` for one large webhook body.

    python bench/bigbody.py [--mb 50] [--kind json|text|binary] [--pythonpath DIR]

Starts ``hub serve --no-worker`` on a fresh SQLite database with
``HUB_HOOK_MAX_BODY_LIMIT=64 MiB``, creates a webhook zap that raises its own body limit to
64 MiB, posts one body of ``--mb`` megabytes and prints the server's resident memory before the
request, its peak (``VmHWM``) after, the answer and how long it took. ``--pythonpath`` runs the
server from another checkout of the ``hub`` package (e.g. an older commit, to compare).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

LIMIT = 64 * 1024 * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(pid: int, field: str) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", text).group(1)) // 1024  # type: ignore[union-attr]


def _body(kind: str, size: int) -> tuple[bytes, str]:
    if kind == "json":
        item = json.dumps({"id": 12345, "name": "a customer name", "tags": ["a", "b"],
                           "note": "x" * 60}) + ","
        count = size // len(item)
        return ('{"items": [' + item * count + "0]}").encode(), "application/json"
    if kind == "text":
        return b"line of text\n" * (size // 13), "text/plain"
    return os.urandom(size), "application/octet-stream"


def _wait(log: Path, pattern: str, proc: subprocess.Popen) -> str:
    for _ in range(600):
        found = re.search(pattern, log.read_text())
        if found:
            return found.group(found.re.groups and 1 or 0)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(log.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=50)
    parser.add_argument("--kind", choices=("json", "text", "binary"), default="json")
    parser.add_argument("--pythonpath", default=None)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bigbody-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {"HUB_DATA_DIR": str(tmp / "data"), "HUB_PORT": str(port),
            "HUB_HOOK_MAX_BODY_LIMIT": str(LIMIT), "HUB_RUN_SCHEDULER": "false"}
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    log = tmp / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub", "serve", "--no-worker"], env=env,
                                stdout=out, stderr=subprocess.STDOUT, cwd=tmp)
    try:
        link = _wait(log, r"setup\?token=(zl_[A-Za-z0-9_-]{20,})", proc)
        _wait(log, "Uvicorn running", proc)
        run(port, _owner_token(port, link), proc.pid, args)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)


def _owner_token(port: int, link: str) -> str:
    """Use the printed setup link as the first owner would, then create an API token."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
        r = c.post("/api/v1/setup", json={"token": link, "email": "bench@example.com",
                                          "password": "bench password 123"})
        r.raise_for_status()
        r = c.post("/api/v1/tokens", json={"name": "bench"},
                   headers={"X-CSRF-Token": r.json()["csrf_token"]})
        r.raise_for_status()
        return str(r.json()["token"])


def run(port: int, token: str, pid: int, args: argparse.Namespace) -> None:
    zap = {"name": "big", "trigger": {"kind": "webhook", "config": {"max_body_bytes": LIMIT}},
           "steps": [{"id": "s", "use": "core.transform", "input": {"n": "{{ trigger.method }}"}}]}
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, timeout=300,
                      headers={"Authorization": f"Bearer {token}"}) as c:
        r = c.post("/api/v1/zaps", json=zap)
        r.raise_for_status()
        path = c.get(f"/api/v1/zaps/{r.json()['id']}/trigger").json()["webhook"]["path"]
        c.post(path, content=b"{}", headers={"Content-Type": "application/json"})
        body, ctype = _body(args.kind, args.mb * 1024 * 1024)
        before, peak_before = _status(pid, "VmRSS"), _status(pid, "VmHWM")
        started = time.perf_counter()
        r = c.post(path, content=body, headers={"Content-Type": ctype})
        took = time.perf_counter() - started
        time.sleep(0.5)
        print(f"{args.kind} body of {len(body) / 1e6:.1f} MB: HTTP {r.status_code} in "
              f"{took:.2f}s; RSS before {before} MB (peak so far {peak_before} MB), "
              f"peak after {_status(pid, 'VmHWM')} MB, now {_status(pid, 'VmRSS')} MB")


if __name__ == "__main__":
    main()
