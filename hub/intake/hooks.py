"""Keeping a zap's trigger rows in step with its definition, and validating what only the
registry can check (signature scheme, scheme settings, dedupe expression, poll source).

Called by the zap service inside the transaction that saves a version, so an invalid trigger
stores nothing and a saved webhook zap always has its hook id.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError

from hub.errors import ZapInvalid
from hub.expressions import ExpressionError, compile_expression
from hub.intake.tables import trigger_state, webhook_hooks
from hub.registry import Registry
from hub.zaps import Zap
from hub.zaps.compile import pydantic_errors


def new_hook_id() -> str:
    """An unguessable hook id: 192 random bits, URL-safe."""
    return secrets.token_urlsafe(24)


def _webhook_errors(config: dict[str, Any], registry: Registry,
                    max_body: int | None) -> list[dict[str, str]]:
    errors: list[dict[str, str]] = []
    key = config.get("signature") or config.get("app")  # an app shorthand names its scheme
    if key is not None:
        scheme = registry.signature_schemes.get(key)
        if scheme is None:
            known = ", ".join(sorted(registry.signature_schemes)) or "none"
            return [{"path": "trigger.config.signature",
                     "message": f"unknown signature scheme '{key}' (known: {known})"}]
        try:
            scheme.Config.model_validate(config.get("signature_config") or {})
        except ValidationError as exc:
            errors += pydantic_errors(exc, "trigger.config.signature_config")
        if not config.get("connection"):
            errors.append({"path": "trigger.config.connection",
                           "message": "a signature scheme needs a webhook_secret connection"})
    if config.get("dedupe"):
        try:
            compile_expression(config["dedupe"])
        except ExpressionError as exc:
            errors.append({"path": "trigger.config.dedupe", "message": str(exc)})
    asked = config.get("max_body_bytes")
    if max_body is not None and isinstance(asked, int) and asked > max_body:
        errors.append({"path": "trigger.config.max_body_bytes",
                       "message": f"{asked:,} bytes is more than this hub allows for a webhook "
                       f"body ({max_body:,}, HUB_HOOK_MAX_BODY_LIMIT)"})
    return errors


def _poll_errors(config: dict[str, Any], registry: Registry) -> list[dict[str, str]]:
    source = str(config.get("source", ""))
    connector_key, _, trigger_key = source.partition(".")
    connector = registry.connectors.get(connector_key)
    found = [t for t in (connector.triggers if connector else ()) if t.key == trigger_key]
    if not found:
        return [{"path": "trigger.config.source", "message": f"unknown poll trigger '{source}'"}]
    try:
        found[0].Config.model_validate(config.get("config") or {})
    except ValidationError as exc:
        return pydantic_errors(exc, "trigger.config.config")
    return []


def check_trigger(zap: Zap, registry: Registry, *, max_body: int | None = None) -> None:
    """Raise ``ZapInvalid`` when the trigger names things the registry does not have, or asks
    for a webhook body limit above ``max_body`` (the operator's ``HUB_HOOK_MAX_BODY_LIMIT``)."""
    errors: list[dict[str, str]] = []
    if zap.trigger.kind == "webhook":
        errors = _webhook_errors(zap.trigger.config, registry, max_body)
    elif zap.trigger.kind == "poll":
        errors = _poll_errors(zap.trigger.config, registry)
    if errors:
        raise ZapInvalid(errors)


async def sync_trigger(conn: Any, *, workspace_id: str, zap_id: str, zap: Zap,
                       registry: Registry, max_body: int | None = None) -> None:
    """Validate the trigger; give a webhook zap its hook id (kept across versions)."""
    check_trigger(zap, registry, max_body=max_body)
    found = (await conn.execute(sa.select(webhook_hooks.c.id).where(
        webhook_hooks.c.zap_id == zap_id))).first()
    if zap.trigger.kind == "webhook" and found is None:
        await conn.execute(webhook_hooks.insert().values(
            id=new_hook_id(), workspace_id=workspace_id, zap_id=zap_id, created_at=time.time()))
    elif zap.trigger.kind != "webhook" and found is not None:
        await conn.execute(webhook_hooks.delete().where(webhook_hooks.c.zap_id == zap_id))
    if zap.trigger.kind not in ("schedule", "poll"):
        await conn.execute(trigger_state.delete().where(trigger_state.c.zap_id == zap_id))


async def drop_trigger(conn: Any, *, zap_id: str) -> None:
    """A deleted zap's hook stops answering (404) at once."""
    await conn.execute(webhook_hooks.delete().where(webhook_hooks.c.zap_id == zap_id))


async def hook_of(conn: Any, zap_id: str) -> str | None:
    row = (await conn.execute(sa.select(webhook_hooks.c.id).where(
        webhook_hooks.c.zap_id == zap_id))).first()
    return row.id if row else None
