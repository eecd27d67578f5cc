"""Connections: a connector's credentials in a workspace, sealed by the vault.

Credential values are encrypted with a per-connection data key (AES-256-GCM, AAD bound to the
workspace, the connection id and the purpose); only ``get_credentials`` hands them out in
plain form, to the engine and to connectors' checks. Everything returned to people is masked.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from pydantic import BaseModel, SecretBytes, SecretStr, ValidationError
from pydantic_core import to_jsonable_python

from hub import audit, redaction
from hub.egress import EgressDenied
from hub.errors import BadRequest, CannotConnect, Conflict, HubError, InvalidCredentials, NotFound
from hub.ids import looks_like_id, new_id
from hub.sdk import Connector, Credentials, NoCredentials
from hub.services.connection_policy import check_run, consumers
from hub.vault import envelope, keys, masking
from hub.vault.tables import connections, data_keys

if TYPE_CHECKING:
    from hub.context import Hub

ACTIVE, NEEDS_REAUTH = "active", "needs_reauth"
PURPOSE = "connection"
CHECK_TIMEOUT = 30.0
EGRESS_ALLOW_ENV = "HUB_EGRESS_ALLOW"
log = logging.getLogger("hub.vault")


def _aad(workspace_id: str, connection_id: str) -> bytes:
    return envelope.aad(PURPOSE, workspace_id, connection_id, "credentials")


def _connector(hub: Hub, key: str) -> type[Connector]:
    cls = hub.registry.connectors.get(key)
    if cls is None:
        raise NotFound(f"no connector '{key}'", code="connector_not_found")
    if cls.Credentials is NoCredentials:
        raise BadRequest(f"connector '{key}' needs no connection", code="connection_not_needed")
    return cls


def _validate(cls: type[Connector], values: Any) -> Credentials:
    try:
        return cls.Credentials.model_validate(values)
    except ValidationError as exc:
        errors = [{"path": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
                  for e in exc.errors(include_url=False, include_input=False)]
        first = errors[0]
        raise BadRequest(f"{first['path'] or 'credentials'}: {first['message']}",
                         code="invalid_credentials", extra={"errors": errors}) from None


def reveal(creds: BaseModel) -> dict[str, Any]:
    """All field values as JSON, secrets in plain text (what the vault seals)."""

    def walk(value: Any) -> Any:
        if isinstance(value, SecretStr | SecretBytes):
            secret = value.get_secret_value()
            return secret.decode() if isinstance(secret, bytes) else secret
        if isinstance(value, BaseModel):
            return {name: walk(getattr(value, name)) for name in type(value).model_fields}
        if isinstance(value, list | tuple):
            return [walk(v) for v in value]
        return to_jsonable_python(value)

    return walk(creds)


def _name(name: str) -> str:
    name = (name or "").strip()
    if not 0 < len(name) <= 200 or any(ord(c) < 32 for c in name):
        raise BadRequest("a connection name is 1 to 200 printable characters",
                         code="invalid_connection_name")
    return name


def _egress_denied(exc: BaseException) -> EgressDenied | None:
    """The egress refusal behind ``exc``, also when a connector wrapped it (cause chain)."""
    for _ in range(8):
        if isinstance(exc, EgressDenied):
            return exc
        nxt = exc.__cause__ or exc.__context__
        if nxt is None:
            return None
        exc = nxt
    return None


def _check_error(exc: Exception, secrets: tuple[str, ...]) -> HubError:
    """Map a failed check to invalid_auth / cannot_connect / egress_denied / unknown."""
    denied = _egress_denied(exc)
    if denied is not None:
        message = redaction.mask_text(denied.message, secrets)
        if EGRESS_ALLOW_ENV not in message:  # the egress guard's own hint is more precise
            message += (f" (an operator can allow internal hosts and networks with "
                        f"{EGRESS_ALLOW_ENV})")
        return HubError(message, code="egress_denied", status=424)
    if isinstance(exc, InvalidCredentials):
        return BadRequest(redaction.mask_text(exc.message, secrets), code="invalid_auth")
    if isinstance(exc, CannotConnect):
        return HubError(redaction.mask_text(exc.message, secrets), code="cannot_connect",
                        status=424)
    if isinstance(exc, TimeoutError):
        return HubError(f"the check did not finish within {CHECK_TIMEOUT:g}s",
                        code="cannot_connect", status=424)
    text = redaction.mask_text(f"{type(exc).__name__}: {exc}", secrets)
    return HubError(f"the connector's check failed: {text}", code="unknown", status=424)


async def _check(hub: Hub, cls: type[Connector], creds: Credentials) -> None:
    """Run the connector's check; a failure raises ``_check_error``'s answer, never a 500."""
    secrets = redaction.secret_values(creds)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await cls().check(creds, hub.http)
    except Exception as exc:  # noqa: BLE001 - a connector bug is reported, never a 500
        raise _check_error(exc, secrets) from None


def _summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "connector": row.connector, "status": row.status,
            "last_check": row.last_check, "created_at": row.created_at,
            "updated_at": row.updated_at, "policy": row.policy}


async def _row(conn: Any, workspace_id: str, ref: str) -> Any:
    col = connections.c.id if looks_like_id(ref, "con") else connections.c.name
    row = (await conn.execute(sa.select(connections).where(
        connections.c.workspace_id == workspace_id, col == ref))).first()
    if row is None:
        raise NotFound(f"no connection '{ref}'", code="connection_not_found")
    return row


async def _name_free(conn: Any, workspace_id: str, name: str) -> None:
    if (await conn.execute(sa.select(connections.c.id).where(
            connections.c.workspace_id == workspace_id, connections.c.name == name))).first():
        raise Conflict(f"a connection named '{name}' already exists",
                       code="connection_name_taken")


async def _open(conn: Any, hub: Hub, row: Any) -> dict[str, Any]:
    dek = await keys.load(conn, hub, row.data_key_id, row.workspace_id, PURPOSE)
    plain = envelope.open_sealed(dek, row.secrets, _aad(row.workspace_id, row.id),
                                 f"connections {row.id} ('{row.name}')")
    return json.loads(plain)


def _seal(dek: bytes, workspace_id: str, connection_id: str, creds: Credentials) -> bytes:
    plain = json.dumps(reveal(creds), separators=(",", ":")).encode()
    return envelope.seal(dek, plain, _aad(workspace_id, connection_id))


async def create_connection(hub: Hub, *, workspace_id: str, connector: str, name: str,
                            values: dict[str, Any]) -> dict[str, Any]:
    """Validate, check and store a connection; nothing is stored when the check fails."""
    cls = _connector(hub, connector)
    name = _name(name)
    creds = _validate(cls, values)
    redaction.require_long_secrets(creds)
    redaction.register(*redaction.secret_values(creds))
    async with hub.db.read() as conn:
        await _name_free(conn, workspace_id, name)
    await _check(hub, cls, creds)
    cid, now = new_id("con"), time.time()
    async with hub.db.write() as conn:
        await _name_free(conn, workspace_id, name)
        dk_id, dek = await keys.create(conn, hub, workspace_id, PURPOSE)
        await conn.execute(connections.insert().values(
            id=cid, workspace_id=workspace_id, name=name, connector=connector, status=ACTIVE,
            data_key_id=dk_id, secrets=_seal(dek, workspace_id, cid, creds),
            last_check={"ok": True, "code": None, "at": now}, created_at=now, updated_at=now))
        made = await _row(conn, workspace_id, cid)
        await _audit(conn, workspace_id, "connection.created", cid, name=name,
                     connector=connector)
    masking.forget(hub, workspace_id)
    return {**_summary(made), "fields": creds.model_dump(mode="json")}


async def list_connections(hub: Hub, *, workspace_id: str) -> list[dict[str, Any]]:
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(connections).where(
            connections.c.workspace_id == workspace_id).order_by(connections.c.name))
        return [_summary(r) for r in rows]


async def get_connection(hub: Hub, *, workspace_id: str, connection_id: str) -> dict[str, Any]:
    """A connection with its fields; secret fields are masked."""
    async with hub.db.read() as conn:
        row = await _row(conn, workspace_id, connection_id)
        values = await _open(conn, hub, row)
    out = _summary(row)
    cls = hub.registry.connectors.get(row.connector)
    if cls is None:  # the plugin is gone: show field names only
        out["fields"] = dict.fromkeys(values, redaction.MASK)
    else:
        creds = cls.Credentials.model_validate(values)
        redaction.register(*redaction.secret_values(creds))
        out["fields"] = creds.model_dump(mode="json")
    return out


async def _audit(conn: Any, workspace_id: str, action: str, connection_id: str,
                 **data: Any) -> None:
    """Record a change of a connection: names and field names, never a value."""
    await audit.append(conn, [audit.Entry(workspace_id, action, audit.current_actor(),
                                          "connection", connection_id, data=data)])


async def _store_values(hub: Hub, row: Any, creds: Credentials, changed: list[str] | None = None,
                        **extra: Any) -> None:
    async with hub.db.write() as conn:
        dek = await keys.load(conn, hub, row.data_key_id, row.workspace_id, PURPOSE)
        await conn.execute(connections.update().where(connections.c.id == row.id).values(
            secrets=_seal(dek, row.workspace_id, row.id, creds), updated_at=time.time(),
            **extra))
        await _audit(conn, row.workspace_id, "connection.updated", row.id, name=row.name,
                     fields=sorted(changed or []))
    masking.forget(hub, row.workspace_id)


async def update_connection(hub: Hub, *, workspace_id: str, connection_id: str,
                            values: dict[str, Any]) -> dict[str, Any]:
    """Merge new field values, check them, re-encrypt; the connection becomes active again."""
    async with hub.db.read() as conn:
        row = await _row(conn, workspace_id, connection_id)
        current = await _open(conn, hub, row)
    cls = _connector(hub, row.connector)
    creds = _validate(cls, {**current, **(values or {})})
    redaction.require_long_secrets(creds)
    redaction.register(*redaction.secret_values(creds))
    await _check(hub, cls, creds)
    await _store_values(hub, row, creds, list(values or {}), status=ACTIVE,
                        last_check={"ok": True, "code": None, "at": time.time()})
    return await get_connection(hub, workspace_id=workspace_id, connection_id=row.id)


async def test_connection(hub: Hub, *, workspace_id: str, connection_id: str) -> dict[str, Any]:
    """Run the connector's check again and record the outcome."""
    async with hub.db.read() as conn:
        row = await _row(conn, workspace_id, connection_id)
        values = await _open(conn, hub, row)
    cls = _connector(hub, row.connector)
    creds = _validate(cls, values)
    redaction.register(*redaction.secret_values(creds))
    result: dict[str, Any] = {"ok": True, "code": None, "message": "ok", "at": time.time()}
    try:
        await _check(hub, cls, creds)
    except HubError as exc:
        result.update(ok=False, code=exc.code, message=exc.message)
    async with hub.db.write() as conn:
        await conn.execute(connections.update().where(connections.c.id == row.id).values(
            last_check={k: result[k] for k in ("ok", "code", "at")}))
    return result


async def delete_connection(hub: Hub, *, workspace_id: str, connection_id: str) -> None:
    """Delete a connection and its data key; refused while a zap or an AI model entry uses
    it (``connection_in_use`` lists them)."""
    async with hub.db.write() as conn:
        row = await _row(conn, workspace_id, connection_id)
        users = await consumers(conn, workspace_id, row.name)
        if users["zaps"] or users["models"]:
            named = [f"zap '{z}'" for z in users["zaps"]] + [
                f"AI model '{m}'" for m in users["models"]]
            raise Conflict(f"connection '{row.name}' is used by {', '.join(named)}",
                           code="connection_in_use", extra=users)
        await conn.execute(connections.delete().where(connections.c.id == row.id))
        await conn.execute(data_keys.delete().where(data_keys.c.id == row.data_key_id))
        await _audit(conn, workspace_id, "connection.deleted", row.id, name=row.name,
                     connector=row.connector)
    masking.forget(hub, workspace_id)


async def get_credentials(hub: Hub, *, workspace_id: str, name: str,
                          connector: str | None = None, run_id: str | None = None) -> Credentials:
    """The decrypted ``Credentials`` of connection ``name`` (for the engine and plugins);
    for a run's step, only when the connection's policy lets that run use it."""
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(connections).where(
            connections.c.workspace_id == workspace_id, connections.c.name == name))).first()
        if row is None:
            raise NotFound(f"no connection '{name}'", code="connection_not_found")
        if connector is not None and row.connector != connector:
            raise BadRequest(f"connection '{name}' belongs to connector '{row.connector}', "
                             f"not '{connector}'", code="connection_mismatch")
        if row.status == NEEDS_REAUTH:
            raise HubError(f"connection '{name}' needs to be authorised again",
                           code="needs_reauth", status=409)
        if run_id is not None:
            await check_run(conn, workspace_id=workspace_id, run_id=run_id, name=name,
                            policy=row.policy)
        values = await _open(conn, hub, row)
    cls = hub.registry.connectors.get(row.connector)
    if cls is None:
        raise NotFound(f"connection '{name}' uses connector '{row.connector}', which is not "
                       "loaded", code="connector_not_found")
    creds = cls.Credentials.model_validate(values)
    redaction.register(*redaction.secret_values(creds))
    return creds


async def update_secrets(hub: Hub, *, workspace_id: str, connection_id: str,
                         values: dict[str, Any]) -> None:
    """Merge new field values (e.g. refreshed OAuth2 tokens) and re-encrypt; no check runs."""
    async with hub.db.read() as conn:
        row = await _row(conn, workspace_id, connection_id)
        current = await _open(conn, hub, row)
    cls = hub.registry.connectors.get(row.connector) or _connector(hub, row.connector)
    creds = _validate(cls, {**current, **values})
    redaction.register(*redaction.secret_values(creds))
    await _store_values(hub, row, creds, list(values), status=ACTIVE)


async def mark_needs_reauth(hub: Hub, *, workspace_id: str, connection_id: str) -> None:
    """Flag a connection whose authorisation failed; runs using it fail with ``needs_reauth``."""
    async with hub.db.write() as conn:
        row = await _row(conn, workspace_id, connection_id)
        await conn.execute(connections.update().where(connections.c.id == row.id).values(
            status=NEEDS_REAUTH, updated_at=time.time()))


async def workspace_secret_values(hub: Hub, workspace_id: str) -> list[str]:
    """Every secret value of every connection of the workspace (to mask run data).

    One pooled connection reads the rows; decryption happens after it is released. A
    connection that cannot be decrypted is skipped with one log line naming it.
    """
    async with hub.db.read() as conn:
        rows = (await conn.execute(sa.select(connections).where(
            connections.c.workspace_id == workspace_id))).all()
        wrapped = {r.id: r for r in await conn.execute(sa.select(data_keys).where(
            data_keys.c.workspace_id == workspace_id, data_keys.c.purpose == PURPOSE))}
    values: list[str] = []
    for row in rows:
        try:
            key_row = wrapped.get(row.data_key_id)
            if key_row is None:
                raise envelope.DecryptionFailed(f"data_keys {row.data_key_id}: no such row")
            dek = keys.unwrap_row(hub, key_row)
            plain = json.loads(envelope.open_sealed(dek, row.secrets, _aad(workspace_id, row.id),
                                                    f"connections {row.id} ('{row.name}')"))
        except HubError as exc:
            log.warning("vault: cannot read connections %s ('%s') to mask its secrets in run "
                        "data: %s", row.id, row.name, exc.code)
            continue
        values += _secret_strings(hub, row.connector, plain)
    return values


def _secret_strings(hub: Hub, connector: str, plain: dict[str, Any]) -> list[str]:
    """The secret fields' values; every string value when the connector is not loaded."""
    cls = hub.registry.connectors.get(connector)
    if cls is not None:
        try:
            return list(redaction.secret_values(cls.Credentials.model_validate(plain), 1))
        except ValidationError:
            pass
    return [v for v in plain.values() if isinstance(v, str) and v]
