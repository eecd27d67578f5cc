"""End to end, as a plugin author: `hub plugin new`, install the package into a fresh virtual
environment together with the hub from this checkout, run its generated tests, and watch the
hub find it and run its action (`hub run`) and its poll trigger (`hub serve`) in zaps.

Nothing is downloaded: the fresh environment sees this one's site-packages through a
``.pth`` file, and both packages install with ``--no-deps --no-build-isolation``.
"""

from __future__ import annotations

import importlib.util
import json
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from setuphelp import LINK, token_via_setup

from hub.scaffold import scaffold

ROOT = Path(__file__).resolve().parents[1]
CREATE = """\
name: create-item
trigger: {kind: manual}
steps:
  - {id: create, use: acme.create_item, connection: demo, input: {name: "{{ trigger.title }}"}}
"""
WATCH = """\
name: watch-items
trigger:
  kind: poll
  config: {source: acme.new_items, connection: demo, interval: 1, fire_on_first: true}
steps:
  - {id: shape, use: core.transform, input: {seen: "{{ trigger.name }}"}}
"""


class Venv:
    """A fresh virtual environment that reuses this one's installed packages."""

    def __init__(self, path: Path, data_dir: Path) -> None:
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                       timeout=60)
        self.bin = path / "bin"
        purelib = subprocess.run([str(self.bin / "python"), "-c", "import sysconfig; "
                                  "print(sysconfig.get_paths()['purelib'])"], check=True,
                                 capture_output=True, text=True, timeout=30).stdout.strip()
        outer = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
        Path(purelib, "_outer_site.pth").write_text("\n".join(sorted(outer)) + "\n")
        self.env = {"PATH": f"{self.bin}:/usr/bin:/bin", "HOME": str(path),
                    "HUB_DATA_DIR": str(data_dir), "HUB_EGRESS_ALLOW": "127.0.0.1/32",
                    "PYTHONDONTWRITEBYTECODE": "1"}

    def run(self, *args: str, input: str | None = None, timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        exe = args[0] if args[0].startswith("/") else str(self.bin / args[0])
        proc = subprocess.run([exe, *args[1:]], input=input, capture_output=True, text=True,
                              env=self.env, timeout=timeout, cwd=cwd)
        assert proc.returncode == 0, f"{args}: {proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
        return proc

    def pip_install(self, *args: str) -> None:
        self.run("python", "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation",
                 "--no-index", *args)


def _load_fake(plugin: Path) -> Any:
    spec = importlib.util.spec_from_file_location("scaffolded_fake",
                                                  plugin / "tests" / "fake_upstream.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start `hub serve` in a venv; return its base URL and an owner's token (through the
    setup link it printed)."""
    procs: list[subprocess.Popen[str]] = []
    log = tmp_path / "serve.log"

    def start(venv: Venv) -> tuple[str, str]:
        base = f"http://127.0.0.1:{_free_port()}"
        with log.open("w") as out:
            procs.append(subprocess.Popen([str(venv.bin / "hub"), "serve", "--port",
                                           base.rsplit(":", 1)[1]], env=venv.env,
                                          stdout=subprocess.DEVNULL, stderr=out))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and procs[-1].poll() is None:
            link = LINK.search(log.read_text())
            if link and _healthy(base):
                return base, token_via_setup(base, link.group(1))
            time.sleep(0.1)
        raise AssertionError(f"hub serve did not start: {log.read_text()[-3000:]}")

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def _healthy(base: str) -> bool:
    try:
        return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _wait_for_runs(api: httpx.Client, zap_id: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    runs: list[dict[str, Any]] = []
    while time.monotonic() < deadline:
        page = api.get("/api/v1/runs", params={"zap_id": zap_id}).json()
        runs = [r for r in page["items"] if r["status"] == "succeeded"]
        if len(runs) >= count:
            return runs
        time.sleep(0.1)
    raise AssertionError(f"expected {count} succeeded runs, got {runs}")


def test_scaffolded_plugin_in_a_fresh_venv(tmp_path: Path, serve: Any) -> None:
    started = time.monotonic()
    plugin = scaffold("acme", tmp_path)
    venv = Venv(tmp_path / "venv", tmp_path / "data")
    venv.pip_install("-e", str(ROOT), str(plugin))  # the hub editable, the plugin built

    listed = json.loads(venv.run("hub", "plugins", "list", "--json").stdout)
    (acme,) = [p for p in listed if p["name"] == "acme"]
    assert acme == {"name": "acme", "version": "0.1.0", "builtin": False, "status": "loaded",
                    "error": None, "registered": {"actions": ["acme.create_item"],
                                                  "connectors": ["acme"],
                                                  "poll_triggers": ["acme.new_items"]}}
    # the generated tests run while the hub serves (two processes, about half the time)
    tests = subprocess.Popen([str(venv.bin / "python"), "-m", "pytest", "-q", "-p",
                              "no:cacheprovider", "tests"], cwd=plugin, env=venv.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    fake = _load_fake(plugin).FakeExample(api_key="sk-acme-test-key").start()
    try:
        base, token = serve(venv)
        with httpx.Client(base_url=base, timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as api:
            _zaps_and_runs(api, fake)
    finally:
        fake.stop()
        output = tests.communicate(timeout=180)[0]
    assert tests.returncode == 0 and " passed" in output, output[-3000:]
    assert time.monotonic() - started < 120  # a sanity bound; it takes about 15 s


def _zaps_and_runs(api: httpx.Client, fake: Any) -> None:
    made = api.post("/api/v1/connections", json={
        "connector": "acme", "name": "demo", "values": {"api_key": "sk-acme-test-key",
                                                        "base_url": fake.url}})
    assert made.status_code == 201, made.text
    yaml = {"Content-Type": "application/yaml"}
    create = api.post("/api/v1/zaps", content=CREATE, headers=yaml).json()["id"]
    run = api.post(f"/api/v1/zaps/{create}/runs?wait=20", json={"input": {"title": "Hello"}})
    assert run.json()["result"] == {"id": "1", "name": "Hello"}, run.text
    fake.add_item("Polled")
    watch = api.post("/api/v1/zaps", content=WATCH, headers=yaml).json()["id"]
    assert len(_wait_for_runs(api, watch, 2)) == 2  # the first poll fires for both items
    fake.add_item("Later")  # the next poll continues from the stored cursor
    runs = _wait_for_runs(api, watch, 3)
    seen = sorted(api.get(f"/api/v1/runs/{r['id']}").json()["result"]["seen"] for r in runs)
    assert seen == ["Hello", "Later", "Polled"]
