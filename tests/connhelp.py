"""Helpers for the connector tests: a step context and a real outbound client."""

from __future__ import annotations

from typing import Any

import httpx

from hub import StepContext
from hub.egress import EgressPolicy, create_client


def ctx(creds: Any = None, http: httpx.AsyncClient | None = None, *, run: str = "run_1",
        step: str = "act", oauth: httpx.Auth | None = None) -> StepContext:
    return StepContext(run_id=run, step_id=step, attempt=1, idempotency_key=f"{run}:{step}",
                       workspace_id="ws_1", creds=creds, http=http, oauth=oauth)


def client(allow: str = "") -> httpx.AsyncClient:
    """The hub's checking client (what steps get), opened to ``allow``."""
    return create_client(EgressPolicy.parse(allow))
