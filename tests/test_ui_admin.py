"""Admin pages over ASGI: members and invitations, tokens, AI documents, usage chart, audit
log with verify, plugins and keys; who may see and change them."""

from __future__ import annotations

import re

from apiclient import Api
from test_ui_pages import ZAP, browser_like, csrf_of, viewer_token  # noqa: F401


async def test_members_tokens_and_audit(api: Api) -> None:
    page = await api.get("/admin/members")
    assert page.status_code == 200 and "Invite someone" in page.text
    token = csrf_of(page.text)
    invited = await api.post("/admin/members/invite", data={
        "csrf_token": token, "email": "pat@example.test", "role": "approver"})
    assert invited.status_code == 200 and "/invite?token=zl_" in invited.text
    assert "pat@example.test as approver" in invited.text
    made = await api.post("/admin/tokens/create", data={"csrf_token": token, "name": "ci",
                                                        "read_only": "1"})
    shown = re.search(r'id="new-token" readonly value="(zh_[^"]+)"', made.text)
    assert shown, made.text
    assert (await api.get("/api/v1/zaps", token=shown.group(1))).status_code == 200
    assert (await api.post("/api/v1/zaps", token=shown.group(1), json=ZAP)).status_code == 403
    audit = await api.get("/admin/audit?action=member.*")
    assert audit.status_code == 200 and "member.invited" in audit.text
    verified = await api.post("/admin/audit/verify", data={"csrf_token": token})
    assert "The chain is intact" in verified.text


async def test_ai_documents_usage_plugins(api: Api) -> None:
    page = await api.get("/admin/ai")
    assert page.status_code == 200
    token = csrf_of(page.text)
    saved = await api.post("/admin/ai", data={"csrf_token": token, "kind": "policy",
                                              "name": "cheap", "document": "candidates: [mock]\n"})
    assert saved.status_code == 303, saved.text
    assert "Policy cheap" in (await api.get("/admin/ai")).text
    bad = await api.post("/admin/ai", data={"csrf_token": token, "kind": "settings",
                                            "document": "budgets: [1"})
    assert bad.status_code in (400, 422) and 'role="alert"' in bad.text
    usage = await api.get("/admin/usage?month=2026-01")
    assert usage.status_code == 200 and "No usage in this period" in usage.text
    assert (await api.get("/admin/usage?month=bogus")).status_code == 422
    plugins = await api.get("/admin/plugins")
    assert plugins.status_code == 200 and "core" in plugins.text and "Current key" in plugins.text


async def test_viewer_is_kept_out(api: Api) -> None:
    viewer = await viewer_token(api)
    members = await api.get("/admin/members", token=viewer)
    assert members.status_code == 200 and "Invite someone" not in members.text
    assert (await api.get("/admin/audit", token=viewer)).status_code == 403
    assert (await api.get("/admin/plugins", token=viewer)).status_code == 403
    ai = await api.get("/admin/ai", token=viewer)
    assert ai.status_code == 200 and "readonly" in ai.text
    refused = await api.post("/admin/members/invite", token=viewer, data={
        "csrf_token": csrf_of(ai.text), "email": "x@example.test", "role": "owner"})
    assert refused.status_code == 403
    refused = await api.post("/admin/ai", token=viewer, data={
        "csrf_token": csrf_of(ai.text), "kind": "policy", "name": "p", "document": "{}"})
    assert refused.status_code == 403
