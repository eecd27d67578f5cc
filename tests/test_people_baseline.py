"""New workspaces start with the baseline guardrail policy, which admins can see and change."""

from __future__ import annotations

from apiclient import Api

from hub.ai.baseline import baseline_settings
from hub.services import identity


def _rules(settings: dict) -> dict[str, str]:
    return {r["key"]: r["mode"] for r in settings["guardrails"]["guardrails"]}


async def test_new_workspaces_get_the_baseline(api: Api) -> None:
    expected = {"personal_data": "redact", "secrets": "block", "prompt_injection": "flag"}
    assert _rules((await api.get("/api/v1/ai/settings")).json()) == expected
    other = await identity.create_workspace(api.app.state.hub, name="B", owner_email="b@b.io")
    assert _rules((await api.get("/api/v1/ai/settings", token=other["token"])).json()) == (
        expected)
    rules = (await api.get("/api/v1/ai/settings")).json()["guardrails"]["guardrails"]
    assert next(r for r in rules if r["key"] == "personal_data")["stages"] == ["input"]
    r = await api.put("/api/v1/ai/settings", json={"guardrails": {"guardrails": [
        {"key": "secrets", "mode": "redact"}]}})
    assert r.status_code == 200
    assert _rules((await api.get("/api/v1/ai/settings")).json()) == {"secrets": "redact"}
    editor = (await api.post("/api/v1/users", json={"email": "e@x.io", "role": "editor"})).json()
    r = await api.put("/api/v1/ai/settings", token=editor["token"], json={})
    assert r.status_code == 403


def test_baseline_skips_guardrails_that_are_not_loaded() -> None:
    only = baseline_settings({"secrets": object()})
    assert [r["key"] for r in only["guardrails"]["guardrails"]] == ["secrets"]
