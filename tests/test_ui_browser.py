"""The web app end to end in a real headless Chromium against a real `hub serve` on loopback:
setup link, connections, a webhook zap built through the forms (AI classify with a mapped
field, a conditional step that needs approval), a signed webhook, the run waiting, approval
from the inbox by a second person (the first may not), the run's detail, the audit record;
form errors next to fields, CSRF refusals, a viewer without edit buttons. Screenshots go to
the test's temporary directory."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browserhelp import Site, browser, check_page, shot, ui_server  # noqa: F401

SECRET = "whsec_ui_e2e_4f1c9a7b2d8e6f3a1b0c"
PASSWORD = "a long owner passphrase"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with ui_server(tmp_path_factory.mktemp("ui") / "data") as running:
        yield running


def _label(label: str) -> re.Pattern[str]:
    """A label's text, with or without its required mark."""
    return re.compile(rf"^{re.escape(label)}( ?\*)?( ?\(required\))?$")


def _fill(page, label: str, value: str) -> None:  # type: ignore[no-untyped-def]
    page.get_by_label(_label(label)).fill(value)


def _sign_up(browser, base: str, path: str, email: str | None,  # type: ignore[no-untyped-def]  # noqa: F811
             password: str):
    context = browser.new_context(base_url=base)
    page = context.new_page()
    page.goto(path)
    if email:
        _fill(page, "E-mail", email)
    _fill(page, "Your name", email or "someone")
    _fill(page, "Password", password)
    page.locator("form button[type=submit]").click()
    page.wait_for_selector("h1:has-text('Dashboard')")
    return context, page


def _invite(page, email: str, role: str) -> str:  # type: ignore[no-untyped-def]
    page.goto("/admin/members")
    _fill(page, "E-mail", email)
    page.get_by_label(_label("Role")).select_option(role)
    page.get_by_role("button", name="Invite").click()
    link = page.locator("#new-link").input_value()
    return link[link.index("/invite"):]


def _connection(page, app: str, name: str, secret_label: str,  # type: ignore[no-untyped-def]
                secret: str) -> None:
    page.goto(f"/connections/new?connector={app}")
    _fill(page, "Name", name)
    _fill(page, secret_label, secret)
    page.get_by_role("button", name="Test and save").click()
    page.wait_for_selector(f"td:has-text('{name}')")


def _model(page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/admin/ai")
    page.locator("summary:has-text('Add a model entry')").click()
    form = page.locator("form.doc").filter(has=page.get_by_label("New model entry (YAML)"))
    form.get_by_label("Name").fill("mock")
    form.get_by_label("New model entry (YAML)").fill(
        "provider: local\nconfig: {}\n")
    form.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Saved: model")
    page.locator("summary:has-text('Add a routing policy')").click()
    form = page.locator("form.doc").filter(has=page.get_by_label("New policy (YAML)"))
    form.get_by_label("Name").fill("default")
    form.get_by_label("New policy (YAML)").fill("candidates:\n  - mock\n")
    form.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Saved: policy")


def _build_zap(page, tmp_path: Path) -> str:  # type: ignore[no-untyped-def]
    page.goto("/zaps/new")
    _fill(page, "Name", "triage")
    _fill(page, "Signature scheme", "hmac")
    _fill(page, "Secret connection", "hooks")
    page.get_by_label("App and action").select_option("ai.classify")
    page.wait_for_selector('[name="steps[0].input.labels"]')  # the form redrew itself
    _fill(page, "Step id", "classify")
    page.locator('[name="steps[0].input.text"]').fill("{{ trigger.nope( }}")
    page.locator('[name="steps[0].input.labels"]').fill("fire emergency\nbilling question")
    page.get_by_role("button", name="Add a step").click()
    page.locator('[name="steps[1].use"]').select_option("core.transform")
    page.wait_for_selector('[name="steps[1].input"]')
    page.locator('[name="steps[1].id"]').fill("escalate")
    page.locator('[name="steps[1].when"]').fill("steps.classify.label == 'fire emergency'")
    page.locator('[name="steps[1].input"]').fill('{"label": "{{ steps.classify.label }}"}')
    page.locator('[name="steps[1].approval.required"]').check()
    page.locator('[name="steps[1].approval.approvers"]').fill("admin")
    page.get_by_role("button", name="Save").click()
    error = page.locator("#f-steps-0--input-text-err")  # next to its field
    assert error.is_visible() and error.inner_text()
    shot(page, tmp_path, "builder-error")
    page.locator('[name="steps[0].input.text"]').fill("{{ trigger.body.text }}")
    page.get_by_role("button", name="Save").click()
    page.wait_for_selector("text=Saved as version 1")
    shot(page, tmp_path, "builder")
    check_page(page)
    return page.locator("#hook-url").input_value()


def _signed_post(url: str, payload: dict) -> httpx.Response:  # type: ignore[type-arg]
    body = json.dumps(payload).encode()
    sig = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return httpx.post(url, content=body, timeout=30, headers={
        "Content-Type": "application/json", "X-Signature": sig})


def _audit_and_pages(owner, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The audit page shows the approval (and the refused one); every main page is labelled
    and fits a phone."""
    owner.goto("/admin/audit?action=approval.*")
    assert "approval.approved" in owner.content() and "approval.refused" in owner.content()
    owner.get_by_role("button", name="Verify the chain").click()
    assert "The chain is intact" in owner.content()
    shot(owner, tmp_path, "audit")
    check_page(owner)
    for path in ("/connections", "/admin/members", "/admin/ai", "/admin/usage",
                 "/admin/plugins", "/zaps", "/inbox"):
        owner.goto(path)
        check_page(owner)


def _refusals(browser, server: Site, owner_ctx, owner,  # type: ignore[no-untyped-def]  # noqa: F811
              viewer_link: str):
    """A form without the session's token is refused; a viewer sees no edit buttons and
    their posts are refused. Returns the viewer's browser context."""
    owner.goto("/zaps")
    zap_path = owner.get_by_role("link", name="triage").get_attribute("href")
    forged = owner_ctx.request.post(f"{zap_path}/disable", form={"x": "1"})
    assert forged.status == 403 and "csrf_failed" in forged.text()
    viewer_ctx, viewer = _sign_up(browser, server.base, viewer_link, None, "vic's passphrase 42")
    viewer.goto(zap_path)
    assert viewer.get_by_role("button", name="Save").count() == 0
    assert viewer.get_by_role("button", name="Disable").count() == 0
    token = viewer.locator('input[name="csrf_token"]').first.input_value()
    refused = viewer_ctx.request.post(f"{zap_path}/disable", form={"csrf_token": token})
    assert refused.status == 403 and "insufficient_role" in refused.text()
    return viewer_ctx


def test_end_to_end(browser, site: Site,  # type: ignore[no-untyped-def]  # noqa: F811
                    tmp_path: Path) -> None:
    server = site
    owner_ctx, owner = _sign_up(browser, server.base, server.setup, "owner@example.test",
                                PASSWORD)
    shot(owner, tmp_path, "dashboard")
    check_page(owner)
    approver_link = _invite(owner, "ada@example.test", "admin")
    viewer_link = _invite(owner, "vic@example.test", "viewer")
    _connection(owner, "webhook_secret", "hooks", "Signing secret", SECRET)
    shot(owner, tmp_path, "connections")
    _model(owner)
    hook = _build_zap(owner, tmp_path)
    owner.goto("/runs")
    owner.wait_for_timeout(300)  # the live stream is connected
    unsigned = httpx.post(hook, json={"text": "x"}, timeout=30)
    assert unsigned.status_code == 401
    sent = _signed_post(hook, {"text": "The printer is on fire"})
    assert sent.status_code == 202, sent.text
    run_id = sent.json()["run_id"]
    owner.locator(f'tr[data-run="{run_id}"] .s-waiting').wait_for(timeout=30_000)  # live
    shot(owner, tmp_path, "runs")
    check_page(owner)
    # the owner edited the zap: separation of duties keeps them from approving
    owner.goto("/inbox")
    owner.get_by_role("link", name=re.compile("^apr_")).first.click()
    assert "The printer is on fire" in owner.content()
    owner.get_by_role("button", name="Approve").click()
    assert "self_approval_forbidden" in owner.content()
    # a second person approves from the inbox
    ada_ctx, ada = _sign_up(browser, server.base, approver_link, None, "ada's passphrase 42")
    ada.goto("/inbox")
    ada.get_by_role("link", name=re.compile("^apr_")).first.click()
    shot(ada, tmp_path, "approval")
    check_page(ada)
    _fill(ada, "Comment", "confirmed with facilities")
    ada.get_by_role("button", name="Approve").click()
    ada.wait_for_selector("text=Your decision was recorded")
    # the run finishes; its detail shows the model that answered and why
    owner.goto(f"/runs/{run_id}")
    owner.locator("#run-status.s-succeeded").wait_for(timeout=15_000)  # reloads by itself
    text = owner.locator("main").inner_text()
    assert "Model mock" in text and "policy 'default'" in text and "fire emergency" in text
    shot(owner, tmp_path, "run")
    check_page(owner)
    _audit_and_pages(owner, tmp_path)
    viewer_ctx = _refusals(browser, server, owner_ctx, owner, viewer_link)
    for ctx in (owner_ctx, ada_ctx, viewer_ctx):
        ctx.close()


def test_docs_work_offline(browser, site: Site) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    server = site
    context = browser.new_context(base_url=server.base)
    page = context.new_page()
    outside: list[str] = []
    page.on("requestfinished", lambda req: None if req.url.startswith(
        (server.base, "data:", "blob:")) else outside.append(req.url))
    page.goto("/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
    assert "zaphub" in page.locator(".swagger-ui .info .title").inner_text()
    page.goto("/redoc")
    page.wait_for_selector("h1", timeout=15_000)
    page.wait_for_load_state("networkidle")
    assert not outside, outside
    page.goto("/")
    assert "/sign-in" in page.url
    context.close()
