"""Run an action or a poll trigger the way the hub does, through the real egress client.

The client refuses internal addresses like the hub's; ``allow`` opens what a test needs (by
default loopback, for a fake upstream on ``127.0.0.1``), as ``HUB_EGRESS_ALLOW`` does for an
operator (see ``Egress``). Mock public APIs with ``pytest-httpx`` or serve a fake one on loopback.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from pydantic import BaseModel

from hub import sdk
from hub.egress import EgressClient, EgressPolicy, create_client
from hub.errors import HubError
from hub.registry import Registry
from hub.settings import Settings

#: What the test helpers let through by default: loopback only (fake upstreams).
LOOPBACK = "127.0.0.0/8,::1/128,localhost"
TIMEOUT = 30.0

#: Settings the developer's environment must not change in tests (a HUB_DATABASE_URL in the
#: shell must never point a test at a real database).
ISOLATED: dict[str, Any] = {"database_url": None, "database_schema": None, "master_key": None,
                            "load_plugins": None, "disabled_plugins": None,
                            "trace_plugins": False, "strict_plugins": False}


def isolated_settings(**overrides: Any) -> Settings:
    """``Settings`` for tests: the ``HUB_*`` variables above are ignored, ``overrides`` win."""
    return Settings(**{**ISOLATED, **overrides})


@dataclass(frozen=True)
class Egress:
    """What a test's outbound client may reach: ``allow`` works as ``HUB_EGRESS_ALLOW``
    (default: loopback; ``None``: what the hub allows by default), ``hosts`` limits the
    hosts as a connector's ``hosts`` do (default ``None``: the connector's own; ``()``: no
    limit, e.g. for a loopback fake of a connector that declares its hosts)."""

    allow: str | None = LOOPBACK
    hosts: tuple[str, ...] | None = None

    def client(self, connector: type[sdk.Connector]) -> Any:
        hosts = connector.hosts if self.hosts is None else self.hosts
        return egress_client(self.allow, tuple(hosts))


def step_context(*, creds: sdk.Credentials | None = None, http: httpx.AsyncClient | None = None,
                 run_id: str = "run_test", step_id: str = "step", attempt: int = 1,
                 **fields: Any) -> sdk.StepContext:
    """A ``StepContext`` as the engine builds it; any other field is passed through."""
    return sdk.StepContext(run_id=run_id, step_id=step_id, attempt=attempt,
                           idempotency_key=fields.pop("idempotency_key", f"{run_id}:{step_id}"),
                           workspace_id=fields.pop("workspace_id", "ws_test"), creds=creds,
                           http=http, **fields)


@asynccontextmanager
async def egress_client(allow: str | None = LOOPBACK,
                        hosts: tuple[str, ...] = ()) -> AsyncIterator[EgressClient]:
    """The hub's outbound client with ``allow`` as ``HUB_EGRESS_ALLOW``, limited to
    ``hosts`` when given (as a connector's ``hosts`` limit its steps)."""
    client = create_client(EgressPolicy.parse(allow))
    try:
        yield client.for_hosts(hosts)
    finally:
        await client.aclose()


def _credentials(connector: type[sdk.Connector], creds: Any) -> sdk.Credentials | None:
    if creds is None or isinstance(creds, sdk.Credentials):
        return creds
    return connector.Credentials.model_validate(creds)


def _lookup(table: dict[str, Any], key: str, what: str) -> Any:
    found = table.get(key)
    if found is None:
        known = ", ".join(sorted(table)) or "none"
        raise LookupError(f"no {what} '{key}' in the registry (known: {known})")
    return found


def _shape(action: type[sdk.Action], out: Any) -> dict[str, Any]:
    if isinstance(out, sdk.StepResult):
        out = out.output
    if isinstance(out, BaseModel):
        out = out.model_dump(mode="json")
    return action.Output.model_validate(out).model_dump(mode="json")


async def run_action(use: str, input: dict[str, Any] | None = None, *, registry: Registry,
                     creds: Any = None, egress: Egress = Egress(),
                     **context: Any) -> dict[str, Any]:
    """Validate ``input``, run action ``use`` (``<connector>.<action>``) and return its output
    validated against ``Output`` (as JSON data), as the engine does.

    ``creds``: a ``Credentials`` instance or a dict for the connector's model. ``egress``:
    what the client may reach (default: loopback, within the connector's ``hosts``).
    ``context``: more ``StepContext`` fields (``attempt``, ``run_id`` ...). A ``StepError``
    propagates.
    """
    action = _lookup(registry.actions, use, "action")
    connector = registry.connector_of(use)
    payload = action.Input.model_validate(input or {})
    async with egress.client(connector) as http:
        ctx = step_context(creds=_credentials(connector, creds), http=http, **context)
        async with asyncio.timeout(TIMEOUT):
            out = await registry.action_instance(use).run(payload, ctx)
    return _shape(action, out)


def _check_result(source: str, trigger: type[sdk.PollTrigger], result: Any) -> sdk.PollResult:
    """What the hub checks on every poll: a ``PollResult`` of dicts carrying the dedupe key,
    and a cursor it can store as JSON."""
    if not isinstance(result, sdk.PollResult):
        raise HubError(f"poll trigger '{source}' returned {type(result).__name__}",
                       code="poll_failed")
    for item in result.items:
        if not isinstance(item, dict) or item.get(trigger.dedupe_key) is None:
            raise HubError(f"a polled item has no '{trigger.dedupe_key}'", code="poll_failed")
    json.dumps(result.items)
    json.dumps(result.cursor)
    return result


async def run_poll(source: str, config: dict[str, Any] | None = None, *, registry: Registry,
                   creds: Any = None, cursor: Any = None,
                   egress: Egress = Egress()) -> sdk.PollResult:
    """Call poll trigger ``source`` (``<connector>.<trigger>``) once, as the hub does, and
    return its ``PollResult`` after the hub's checks. Pass the previous result's ``cursor``
    to poll again; ``None`` is the first poll."""
    trigger = _lookup(registry.poll_triggers, source, "poll trigger")
    connector = registry.connector_of(source)
    parsed = trigger.Config.model_validate(config or {})
    async with egress.client(connector) as http:
        async with asyncio.timeout(TIMEOUT):
            result = await trigger().poll(parsed, _credentials(connector, creds), cursor, http)
    return _check_result(source, trigger, result)
