"""Sample data for the builder's field picker: the zap's latest run (its trigger event and
each step's output), turned into the ``{{ ... }}`` expressions a step may insert."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.services import runs as run_service

if TYPE_CHECKING:
    from hub.context import Hub
    from hub.ui.builder_view import BuilderView

MAX_DEPTH = 4
MAX_PICKS = 80


def paths(value: Any, prefix: str, out: list[str], depth: int = 0) -> None:
    """Every expression below ``prefix`` that leads to a value (bounded in depth and count)."""
    if len(out) >= MAX_PICKS:
        return
    if isinstance(value, dict) and depth < MAX_DEPTH and value:
        for key, sub in value.items():
            if isinstance(key, str) and key.isidentifier():
                paths(sub, f"{prefix}.{key}", out, depth + 1)
    elif isinstance(value, list) and value and depth < MAX_DEPTH:
        paths(value[0], f"{prefix}[0]", out, depth + 1)
    else:
        out.append(prefix)


async def latest_sample(hub: Hub, workspace_id: str, zap_id: str) -> dict[str, Any] | None:
    """The zap's newest run with its data (secrets masked), or None."""
    found = await run_service.list_runs(hub, workspace_id=workspace_id, zap_id=zap_id, limit=1)
    if not found["items"]:
        return None
    return await run_service.get_run(hub, workspace_id=workspace_id,
                                     run_id=found["items"][0]["id"])


async def add_picks(hub: Hub, workspace_id: str, zap_id: str, built: BuilderView) -> None:
    """Give each step of ``built`` the expressions of the data available before it."""
    run = await latest_sample(hub, workspace_id, zap_id)
    if run is None:
        return
    built.sample = run
    outputs = {s["step_id"]: s["output"] for s in run["steps"] if s["status"] == "succeeded"}
    available: list[str] = []
    paths(run.get("trigger"), "trigger", available)
    for step in built.steps:
        step.picks = list(available)
        sid = next((f.value for f in step.fields if f.name.endswith(".id")), "")
        if sid in outputs:
            paths(outputs[sid], f"steps.{sid}", available)
