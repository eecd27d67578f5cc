"""The audit records the engine writes, batched into the step checkpoint transactions.

Run start and finish, each step attempt's side effect (connector, action, connection,
idempotency key, outcome) and each guardrail verdict. Never payload values: only ids, names,
codes and counts.
"""

from __future__ import annotations

from typing import Any

from hub.audit import SYSTEM, Entry


def run_started(run: Any) -> Entry:
    return Entry(run.workspace_id, "run.started", SYSTEM, "zap", run.zap_id, run.id,
                 data={"version": run.zap_version})


def run_finished(run: Any, status: str, error: dict[str, Any] | None) -> Entry:
    return Entry(run.workspace_id, "run.finished", SYSTEM, "zap", run.zap_id, run.id,
                 data={"status": status, "error_code": (error or {}).get("code"),
                       "step_id": (error or {}).get("step_id")})


def step_entries(run: Any, cs: Any, row: dict[str, Any], verdicts: list[dict[str, Any]],
                 ) -> list[Entry]:
    """The side effect of one attempt (actions that have some) and the guardrail verdicts
    that governed it."""
    sid = cs.step.id
    out = []
    if row["status"] != "skipped" and getattr(cs.action, "side_effects", True):
        out.append(Entry(run.workspace_id, "step.executed", SYSTEM, "step", sid, run.id, data={
            "connector": cs.step.use.partition(".")[0], "action": cs.step.use,
            "connection": cs.step.connection, "idempotency_key": row["idempotency_key"],
            "attempt": row["attempt"], "outcome": row["status"],
            "error_code": (row["error"] or {}).get("code")}))
    for verdict in verdicts:
        out.append(Entry(run.workspace_id, "guardrail.verdict", SYSTEM, "step", sid, run.id,
                         data={k: verdict.get(k) for k in
                               ("stage", "guardrail", "mode", "outcome", "categories",
                                "count")}))
    return out
