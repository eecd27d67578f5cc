"""The web app in a real headless Chromium against a real `hub serve` on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from browserhelp import browser, shot  # noqa: F401 - the session's browser fixture
from serverhelp import Server, hub_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with hub_server(tmp_path_factory.mktemp("ui") / "data") as running:
        yield running


@pytest.fixture
def page(browser, server: Server):  # type: ignore[no-untyped-def]  # noqa: F811
    context = browser.new_context(base_url=server.base,
                                  extra_http_headers={"Authorization": f"Bearer {server.token}"})
    try:
        yield context.new_page()
    finally:
        context.close()


def test_dashboard_and_offline_docs(page, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    outside: list[str] = []
    page.on("requestfinished", lambda req: None if req.url.startswith(
        ("http://127.0.0.1", "data:", "blob:")) else outside.append(req.url))
    page.goto("/")
    assert page.locator("h1").inner_text() == "Dashboard"
    shot(page, tmp_path, "dashboard")
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "zaphub" in page.locator(".swagger-ui .info .title").inner_text()
    page.goto("/redoc")
    page.wait_for_selector("h1", timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert not outside, outside


def test_build_a_webhook_zap_and_watch_its_run(page, server: Server,  # type: ignore[no-untyped-def]
                                               tmp_path: Path) -> None:
    page.goto("/zaps/new")
    page.get_by_label("Name").first.fill("browser zap")
    # choosing the action redraws the form with its fields (the page's own script)
    page.get_by_label("App and action").select_option("core.filter")
    page.wait_for_selector('[name="steps[0].input.condition"]')
    page.get_by_label("App and action").select_option("core.transform")
    page.wait_for_selector('[name="steps[0].input"]')
    page.get_by_label("Step id").fill("shape")
    value = page.locator('[name="steps[0].input"]')
    value.fill('{"value": "{{ steps.missing.x }}"}')
    page.get_by_role("button", name="Save").click()
    error = page.locator("#f-steps-0--input-err")
    assert "unknown step" in error.inner_text()
    shot(page, tmp_path, "builder-error")
    page.locator('[name="steps[0].input"]').fill('{"value": "{{ trigger }}"}')
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Saved as version 1")
    hook = page.locator("#hook-url").input_value()
    assert "/hooks/" in hook
    shot(page, tmp_path, "builder")
    page.goto("/runs")
    page.wait_for_timeout(300)  # the live stream is connected
    with server.client() as client:
        sent = client.post(hook.replace(hook.split("/hooks/")[0], server.base),
                           json={"order": 7})
    assert sent.status_code == 202, sent.text
    run_id = sent.json()["run_id"]
    row = page.locator(f'tr[data-run="{run_id}"]')
    row.wait_for(timeout=10_000)  # arrived over server-sent events, no reload
    page.locator(f'tr[data-run="{run_id}"] .s-succeeded').wait_for(timeout=10_000)
    shot(page, tmp_path, "runs")
    row.get_by_role("link").click()
    page.wait_for_selector("h3:has-text('shape')")
    assert '"order": 7' in page.locator("pre").first.inner_text()
    shot(page, tmp_path, "run")
