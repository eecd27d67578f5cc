"""Make the README's web app screenshots: `python docs/screenshots.py`.

Starts `hub serve` on a free loopback port with a fresh data directory, sets the owner's
password through the setup link in headless Chromium (Debian's `chromium`, driven by
Playwright), creates an example zap and a few runs, and saves `docs/web-builder.png` and
`docs/web-run.png`.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

HERE = Path(__file__).parent
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]
ZAP = {"name": "Triage support e-mails", "description": "Classify, then escalate urgent ones.",
       "trigger": {"kind": "manual"},
       "steps": [{"id": "classify", "use": "core.transform", "name": "Pick a label",
                  "input": {"label": "{{ trigger.subject }}"}},
                 {"id": "escalate", "use": "core.transform", "when": "steps.classify.label",
                  "input": {"ticket": "{{ steps.classify.label }}", "priority": "high"}}]}


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(log: Path, pattern: str, proc: subprocess.Popen[bytes]) -> str:
    for _ in range(600):
        found = re.search(pattern, log.read_text())
        if found:
            return found.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    raise SystemExit(f"hub serve did not start: {log.read_text()[-2000:]}")


def shoot(base: str, link: str) -> None:
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=FLAGS)
        context = browser.new_context(base_url=base, viewport={"width": 1200, "height": 820})
        page = context.new_page()
        page.goto(link)
        page.locator("#email").fill("owner@example.com")
        page.locator("#password").fill("a long example passphrase")
        page.locator("form button[type=submit]").click()
        page.wait_for_selector("h1:has-text('Dashboard')")
        csrf = context.request.get("/api/v1/auth/me").json()["csrf_token"]
        headers = {"X-CSRF-Token": csrf}
        zap = context.request.post("/api/v1/zaps", data=ZAP, headers=headers).json()
        run = None
        for subject in ("urgent", "refund", "printer on fire"):
            run = context.request.post(f"/api/v1/zaps/{zap['id']}/runs?wait=10",
                                       data={"input": {"subject": subject}},
                                       headers=headers).json()
        page.goto(f"/zaps/{zap['id']}")
        page.locator("#step-1 [name='steps[1].input']").focus()
        page.locator("#step-1 details.picker summary").click()  # the field picker
        page.evaluate("document.querySelector('#step-1 .step-tools')"
                      ".scrollIntoView({block: 'end'})")
        page.screenshot(path=str(HERE / "web-builder.png"))
        page.goto(f"/runs/{run['id']}")
        page.screenshot(path=str(HERE / "web-run.png"))
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        port = _port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env |= {"HUB_DATA_DIR": str(Path(tmp) / "data"), "HUB_PORT": str(port)}
        log = Path(tmp) / "serve.log"
        with log.open("w") as out:
            proc = subprocess.Popen([sys.executable, "-m", "hub", "serve"], env=env,
                                    stdout=out, stderr=subprocess.STDOUT)
            try:
                link = _wait(log, r"/setup\?token=zl_[A-Za-z0-9_-]+", proc)
                _wait(log, "Uvicorn running", proc)
                shoot(f"http://127.0.0.1:{port}", link)
            finally:
                proc.send_signal(signal.SIGTERM)
                proc.wait(timeout=30)
    print(f"wrote {HERE / 'web-builder.png'} and {HERE / 'web-run.png'}")  # noqa: T201


if __name__ == "__main__":
    main()
