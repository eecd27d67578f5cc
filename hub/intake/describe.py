"""What the API shows about a zap's trigger: webhook URL, next fire times, poll state."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub.intake.hooks import hook_of
from hub.intake.tables import trigger_state
from hub.services.zaps import get_zap

if TYPE_CHECKING:
    from hub.context import Hub


def webhook_info(hub: Hub, hook_id: str) -> dict[str, Any]:
    path = f"/hooks/{hook_id}"
    base = (hub.settings.public_url or "").rstrip("/")
    return {"hook_id": hook_id, "path": path, "url": base + path if base else None}


async def describe(hub: Hub, *, workspace_id: str, zap_id: str, count: int = 5) -> dict[str, Any]:
    """The trigger of a zap the caller can see."""
    from hub.scheduler import next_fires, schedule_trigger

    zap = await get_zap(hub, workspace_id=workspace_id, zap_id=zap_id)
    trigger = zap["definition"]["trigger"]
    out: dict[str, Any] = {"kind": trigger["kind"], "enabled": zap["enabled"]}
    async with hub.db.read() as conn:
        hook = await hook_of(conn, zap_id)
        state = (await conn.execute(sa.select(trigger_state).where(
            trigger_state.c.zap_id == zap_id))).first()
    if hook:
        out["webhook"] = webhook_info(hub, hook)
    if trigger["kind"] in ("schedule", "poll"):
        out["last_fire"] = state.last_fire if state else None
    if trigger["kind"] == "schedule":
        fires = next_fires(schedule_trigger(trigger["config"]), datetime.now(UTC), count)
        out["next_fires"] = [{"at": t.timestamp(), "time": t.isoformat()} for t in fires]
    if trigger["kind"] == "poll":
        out["baseline_recorded"] = state is not None
        out["next_poll_after"] = (state.last_fire if state else time.time()) \
            + float(trigger["config"]["interval"])
    return out
