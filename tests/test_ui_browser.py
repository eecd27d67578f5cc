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
