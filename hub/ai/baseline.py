"""The guardrail policy every new workspace starts with (admins see and edit it through
``/api/v1/ai/settings``): personal data is redacted before any model sees it, secrets are
blocked, and inputs are checked with the prompt-injection heuristics (flagged, recorded)."""

from __future__ import annotations

import time
from typing import Any

from hub.ai.config import AISettings
from hub.ai.tables import ai_settings

BASELINE: tuple[dict[str, Any], ...] = (
    {"key": "personal_data", "mode": "redact", "stages": ["input"]},
    {"key": "secrets", "mode": "block", "stages": ["input", "output"]},
    {"key": "prompt_injection", "mode": "flag", "stages": ["input"]},
)


def baseline_settings(guardrails: Any) -> dict[str, Any]:
    """The baseline AI settings, with only the guardrails ``guardrails`` (a registry's
    mapping) holds: a hub without the guardrails plugin starts without them."""
    rules = [dict(rule) for rule in BASELINE if rule["key"] in guardrails]
    return AISettings.model_validate({"guardrails": {"guardrails": rules}}).model_dump(
        mode="json")


async def insert_baseline(conn: Any, workspace_id: str, guardrails: Any,
                          user_id: str | None = None) -> None:
    """Give a new workspace the baseline guardrail policy (inside its creating transaction)."""
    values = baseline_settings(guardrails)
    await conn.execute(ai_settings.insert().values(
        workspace_id=workspace_id, guardrails=values["guardrails"], budgets=values["budgets"],
        allow_direct_models=values["allow_direct_models"], updated_at=time.time(),
        updated_by=user_id))
