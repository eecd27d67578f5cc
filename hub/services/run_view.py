"""How run data is shown: payloads decoded, or replaced by a marker when unreadable, and the
workspace's connection secrets masked.

A run detail always renders. A payload that fails to decrypt (altered in the database), that
cannot be decoded, or whose workspace key is unreadable becomes
``{"unreadable": CODE, "record": "run_steps run_x seq 3 output"}``; the rest shows, and one
log line per rendered run names the unreadable records.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from hub.errors import HubError
from hub.services.connections import workspace_secret_values
from hub.vault import masking

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.runs")
UNDECODABLE = "undecodable"


def _masks(hub: Hub) -> masking.SecretMasks:
    return masking.masks_of(hub, lambda ws: workspace_secret_values(hub, ws))


class RunView:
    """Renders the rows of one workspace's runs for people (API, CLI, sync answers)."""

    def __init__(self, hub: Hub, workspace_id: str, masker: masking.Masker,
                 not_ready: HubError | None) -> None:
        self.hub, self.workspace_id = hub, workspace_id
        self.masker, self.not_ready = masker, not_ready
        self.unreadable: list[str] = []
        self.hidden: masking.Masker | None = None

    def payload(self, blob: bytes | None, record: str) -> Any:
        """The decoded payload, or a marker naming ``record`` and why it cannot be read."""
        if blob is None:
            return None
        try:
            return self.hub.payloads.decode(self.workspace_id, blob)
        except HubError as exc:
            code = exc.code
            if code == "payloads_not_prepared" and self.not_ready is not None:
                code = self.not_ready.code
        except (ValueError, RecursionError):  # not JSON, or nested past the decoder's limit
            code = UNDECODABLE
        self.unreadable.append(f"{record} ({code})")
        return {"unreadable": code, "record": record}

    def run(self, row: Any, *, full: bool) -> dict[str, Any]:
        out = {"id": row.id, "zap_id": row.zap_id, "zap_version": row.zap_version,
               "status": row.status, "source": row.source, "created_at": row.created_at,
               "started_at": row.started_at, "finished_at": row.finished_at,
               "round": row.round, "error": row.error, "started_by": row.started_by}
        if full:
            out["trigger"] = self.payload(row.trigger_data, f"runs {row.id} trigger_data")
            out["result"] = self.payload(row.result, f"runs {row.id} result")
            out["cancel_requested"] = row.cancel_requested
        return out

    def step(self, row: Any) -> dict[str, Any]:
        where = f"run_steps {row.run_id} seq {row.seq}"
        return {"step_id": row.step_id, "index": row.step_index, "round": row.round,
                "attempt": row.attempt, "status": row.status,
                "input": self.payload(row.input, f"{where} input"),
                "output": self.payload(row.output, f"{where} output"), "error": row.error,
                "started_at": row.started_at, "finished_at": row.finished_at,
                "duration_ms": round((row.finished_at - row.started_at) * 1000, 3),
                "idempotency_key": row.idempotency_key}

    def finish(self, data: Any) -> Any:
        """``data`` with secrets masked; logs the unreadable records met, in one line."""
        if self.unreadable:
            log.warning("run data unreadable in workspace %s: %s", self.workspace_id,
                        ", ".join(self.unreadable))
            self.unreadable = []
        data = self.masker.mask(data)
        return self.hidden.mask(data) if self.hidden is not None else data

    def hide(self, values: list[str]) -> None:
        """Also mask ``values`` (what guardrails redacted in the run's inputs)."""
        if values:
            self.hidden = masking.Masker.of(values)


async def open_view(hub: Hub, workspace_id: str, *, payloads: bool = True) -> RunView:
    """Load what rendering needs (payload keys unless ``payloads`` is false, secret values)
    before any row is read, so a caller never holds a pooled connection while these loads
    take another."""
    not_ready = None
    try:
        if payloads:
            await hub.payloads.prepare(workspace_id)
    except HubError as exc:  # e.g. workspace_key_unreadable: sealed fields become markers
        not_ready = exc
    masker = await _masks(hub).get(workspace_id)
    return RunView(hub, workspace_id, masker, not_ready)

