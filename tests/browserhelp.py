"""Browser tests: Playwright's Python API driving Debian's Chromium (never a downloaded
browser) against a real ``hub serve`` on loopback. One browser per test session."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from serverhelp import _wait_for as wait_for
from serverhelp import free_port

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]


def chromium_path() -> str | None:
    found = os.environ.get("HUB_TEST_CHROMIUM") or shutil.which("chromium")
    return found if found and Path(found).exists() else None


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """A headless Chromium for the browser test module, or a skip that says what is missing.
    Module-scoped: Playwright's synchronous API holds the thread's event loop while it runs,
    so it must stop before other (asyncio) test modules run in the same process."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("browser tests need the playwright package (pip install -e '.[dev]')")
    path = chromium_path()
    if path is None:
        pytest.skip("browser tests need Chromium: apt-get install -y chromium "
                    "(.ci/run installs it when run as root)")
    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS,
                                      headless=True)
        try:
            yield launched
        finally:
            launched.close()


def shot(page: object, tmp_path: Path, name: str) -> Path:
    """A full-page screenshot under the test's temporary directory (an artifact)."""
    target = tmp_path / "screenshots" / f"{name}.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=True)  # type: ignore[attr-defined]
    return target


@dataclass
class Site:
    """A running ``hub serve``: its base URL and the setup link it printed."""

    base: str
    setup: str
    log: Path


@contextmanager
def ui_server(data_dir: Path, **settings: str) -> Iterator[Site]:
    """`python -m hub serve` on a free port (``HUB_<NAME>`` settings); stopped on exit."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env |= {"HUB_DATA_DIR": str(data_dir), "HUB_PORT": str(port), "HUB_POLL_INTERVAL": "0.05"}
    env |= {f"HUB_{k.upper()}": v for k, v in settings.items()}
    log = data_dir.parent / f"{data_dir.name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env, stdout=out,
                                stderr=subprocess.STDOUT, cwd=data_dir.parent)
        try:
            link = wait_for(r"(/setup\?token=zl_[A-Za-z0-9_-]{20,})", log, proc)
            wait_for("Uvicorn running", log, proc)
            yield Site(f"http://127.0.0.1:{port}", link, log)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(e => e.type !== 'hidden' && !(e.labels && e.labels.length)
          && !e.getAttribute('aria-label'))
  .map(e => e.name || e.id)"""


def check_page(page: object) -> None:
    """Every control labelled, one h1, a language; on a phone, no sideways scrolling."""
    assert page.evaluate(UNLABELLED) == [], page.url  # type: ignore[attr-defined]
    assert page.locator("h1").count() == 1, page.url  # type: ignore[attr-defined]
    assert page.evaluate("document.documentElement.lang") == "en"  # type: ignore[attr-defined]
    size = page.viewport_size  # type: ignore[attr-defined]
    page.set_viewport_size({"width": 390, "height": 844})  # type: ignore[attr-defined]
    wide = page.evaluate(  # type: ignore[attr-defined]
        "document.documentElement.scrollWidth - window.innerWidth")
    page.set_viewport_size(size)  # type: ignore[attr-defined]
    assert wide <= 1, f"{page.url} scrolls sideways on a phone by {wide}px"  # type: ignore[attr-defined]
