"""Sync response mode: wait for the run and answer with what a ``webhook.respond`` step set
(or the run's result), like n8n's "Respond to Webhook". Past the wait the answer is 202."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.services import runs as run_service

if TYPE_CHECKING:
    from hub.context import Hub
    from hub.intake.service import Answer, Hook

RESPOND = "webhook.respond"
HIDDEN = frozenset({"content-length", "transfer-encoding", "connection"})


def _respond_step(detail: dict[str, Any], steps: dict[str, str]) -> dict[str, Any] | None:
    done = [s for s in detail["steps"]
            if s["status"] == "succeeded" and steps.get(s["step_id"]) == RESPOND]
    return done[-1]["output"] if done else None


async def sync_answer(hub: Hub, hook: Hook, run_id: str) -> Answer:
    from hub.intake.service import Answer

    detail = await run_service.wait_for_run(hub, workspace_id=hook.workspace_id, run_id=run_id,
                                            timeout=hook.config.sync_timeout)
    status = detail["status"]
    if status not in run_service.FINAL:
        return Answer(202, {"run_id": run_id, "status": status}, {}, "accepted")
    cz = await hub.compiled_zap(hook.zap_id, hook.version)
    uses = {cs.step.id: cs.step.use for cs in cz.steps}
    out = _respond_step(detail, uses)
    if out is not None:
        headers = {k.lower(): v for k, v in out.get("headers", {}).items()
                   if k.lower() not in HIDDEN}
        return Answer(out.get("status", 200), out.get("body"), headers, "accepted")
    if status == "succeeded":
        return Answer(200, detail["result"], {"x-run-id": run_id}, "accepted")
    return Answer(502, {"run_id": run_id, "status": status, "code": "run_not_succeeded",
                        "detail": f"the run ended {status}"}, {}, "accepted")
