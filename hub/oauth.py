"""OAuth2 connections: the authorization-code flow with PKCE, token storage and refresh.

``start`` stores a single-use ``state`` (10 minutes) with the PKCE verifier and the OAuth app's
client credentials, sealed under a key derived from the state itself (only its hash is stored,
so the database alone reveals neither). ``finish`` (the public callback) consumes the state,
exchanges the code at the provider's token URL through the egress client and stores the tokens
in a connection with the vault. ``access_token`` refreshes 60 s before expiry or when a caller
saw a 401, once per connection: an ``asyncio.Lock`` in the process and a lease row
(compare-and-swap on ``expires_at``) across processes. A refresh the provider rejects marks the
connection ``needs_reauth``; runs using it then fail with that code.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import secrets
import time
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import BadRequest, HubError, NotFound, StepError
from hub.ids import new_id
from hub.sdk import Connector, OAuth2Credentials
from hub.store.tables import ID, TS, metadata

if TYPE_CHECKING:
    from hub.context import Hub

STATE_TTL = 600.0
REFRESH_MARGIN = 60.0
LEASE_SECONDS = 30.0
CALLBACK_PATH = "/oauth/callback"

oauth_states = sa.Table(
    "oauth_states", metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the state
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("sealed", sa.LargeBinary, nullable=False),
    sa.Column("created_at", TS, nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)

oauth_refresh_leases = sa.Table(
    "oauth_refresh_leases", metadata,
    sa.Column("connection_id", ID, primary_key=True),
    sa.Column("workspace_id", ID, sa.ForeignKey("workspaces.id"), nullable=False),
    sa.Column("holder", sa.String(40), nullable=False),
    sa.Column("expires_at", TS, nullable=False),
)

_locks: weakref.WeakKeyDictionary[Any, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _state_id(state: str) -> str:
    return hashlib.sha256(b"zaphub-oauth-state-id:" + state.encode()).hexdigest()


def _state_key(state: str) -> AESGCM:
    return AESGCM(hashlib.sha256(b"zaphub-oauth-state-key:" + state.encode()).digest())


def oauth_connector(hub: Hub, key: str) -> type[Connector]:
    """The registered connector ``key``, which must declare OAuth2."""
    cls = hub.registry.connectors.get(key)
    if cls is None:
        raise NotFound(f"no connector '{key}'", code="connector_not_found")
    if cls.oauth2 is None or not issubclass(cls.Credentials, OAuth2Credentials):
        raise BadRequest(f"connector '{key}' does not use OAuth2", code="oauth_not_supported")
    return cls


def redirect_uri(hub: Hub) -> str:
    s = hub.settings
    return (s.public_url or f"http://{s.host}:{s.port}").rstrip("/") + CALLBACK_PATH


async def start(hub: Hub, *, workspace_id: str, connector: str, name: str, client_id: str,
                client_secret: str) -> dict[str, Any]:
    """Begin the flow: store the state and return the provider's authorize URL."""
    cls = oauth_connector(hub, connector)
    name = (name or "").strip()
    if not 0 < len(name) <= 200 or not client_id.strip() or not client_secret:
        raise BadRequest("name, client_id and client_secret are required",
                         code="invalid_oauth_request")
    state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
    challenge = _b64(hashlib.sha256(verifier.encode()).digest())
    uri = redirect_uri(hub)
    payload = {"connector": connector, "name": name, "client_id": client_id,
               "client_secret": client_secret, "verifier": verifier, "redirect_uri": uri}
    nonce = os.urandom(12)
    sealed = nonce + _state_key(state).encrypt(nonce, json.dumps(payload).encode(),
                                               workspace_id.encode())
    now = time.time()
    async with hub.db.write() as conn:
        await conn.execute(oauth_states.delete().where(oauth_states.c.expires_at < now))
        await conn.execute(oauth_states.insert().values(
            id=_state_id(state), workspace_id=workspace_id, sealed=sealed, created_at=now,
            expires_at=now + STATE_TTL))
    oauth2 = cls.oauth2
    assert oauth2 is not None
    query = {"response_type": "code", "client_id": client_id, "redirect_uri": uri,
             "state": state, "code_challenge": challenge, "code_challenge_method": "S256"}
    if oauth2.scopes:
        query["scope"] = oauth2.scope_separator.join(oauth2.scopes)
    query = {**oauth2.authorize_params, **query}  # the flow's own parameters always win
    sep = "&" if "?" in oauth2.authorize_url else "?"
    return {"authorize_url": f"{oauth2.authorize_url}{sep}{urlencode(query)}",
            "state": state, "expires_at": now + STATE_TTL}


async def _consume_state(hub: Hub, state: str) -> tuple[str, dict[str, Any]]:
    invalid = BadRequest("unknown or already used OAuth2 state", code="oauth_state_invalid")
    if not state or len(state) > 200:
        raise invalid
    async with hub.db.write() as conn:
        row = (await conn.execute(sa.select(oauth_states).where(
            oauth_states.c.id == _state_id(state)))).first()
        if row is None:
            raise invalid
        gone = await conn.execute(oauth_states.delete().where(oauth_states.c.id == row.id))
        if gone.rowcount != 1:
            raise invalid
    if row.expires_at < time.time():
        raise BadRequest("the OAuth2 authorization took too long; start again",
                         code="oauth_state_expired")
    sealed = bytes(row.sealed)
    plain = _state_key(state).decrypt(sealed[:12], sealed[12:], row.workspace_id.encode())
    return row.workspace_id, json.loads(plain)


def _token_values(cls: type[Connector], body: Any, now: float) -> dict[str, Any]:
    """The connection values from a token response, read by the connector's
    ``read_oauth2_token`` (providers answering errors with HTTP 200 report them there)."""
    try:
        body = cls.read_oauth2_token(body)
    except ValueError as exc:
        raise HubError(f"the provider refused: {exc}", code="oauth_token_failed",
                       status=502) from None
    if not isinstance(body.get("access_token"), str):
        raise HubError("the provider's token response has no access_token",
                       code="oauth_token_failed", status=502)
    fields = set(cls.Credentials.model_fields) - {"client_id", "client_secret", "expires_at"}
    values: dict[str, Any] = {k: v for k, v in body.items() if k in fields and v is not None}
    if not isinstance(values.get("refresh_token"), str):
        values.pop("refresh_token", None)
    expires_in = body.get("expires_in")
    values["expires_at"] = now + float(expires_in) if isinstance(expires_in, int | float) \
        else None
    return values


async def _token_request(hub: Hub, cls: type[Connector], form: dict[str, str]) -> httpx.Response:
    assert cls.oauth2 is not None and hub.http is not None
    http = hub.http.for_hosts(cls.hosts) if hasattr(hub.http, "for_hosts") else hub.http
    try:
        return await http.post(cls.oauth2.token_url, data=form,
                               headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise HubError(f"cannot reach the provider's token endpoint: {type(exc).__name__}",
                       code="oauth_token_failed", status=502) from None


async def finish(hub: Hub, *, code: str, state: str) -> dict[str, Any]:
    """The callback: check the state, exchange the code, store the connection."""
    from hub.services import connections

    workspace_id, st = await _consume_state(hub, state)
    cls = oauth_connector(hub, st["connector"])
    now = time.time()
    response = await _token_request(hub, cls, {
        "grant_type": "authorization_code", "code": code, "redirect_uri": st["redirect_uri"],
        "client_id": st["client_id"], "client_secret": st["client_secret"],
        "code_verifier": st["verifier"]})
    if response.status_code != 200:
        raise HubError(f"the provider refused the authorization code "
                       f"(HTTP {response.status_code})", code="oauth_token_failed", status=502)
    values = {"client_id": st["client_id"], "client_secret": st["client_secret"],
              **_token_values(cls, _json(response), now)}
    found = await _connection_id(hub, workspace_id, st["name"])
    if found is None:
        return await connections.create_connection(
            hub, workspace_id=workspace_id, connector=st["connector"], name=st["name"],
            values=values)
    await connections.update_secrets(hub, workspace_id=workspace_id, connection_id=found,
                                     values=values)
    return await connections.get_connection(hub, workspace_id=workspace_id,
                                            connection_id=found)


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


async def _connection_id(hub: Hub, workspace_id: str, name: str) -> str | None:
    from hub.vault.tables import connections

    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(connections.c.id).where(
            connections.c.workspace_id == workspace_id,
            connections.c.name == name))).scalar_one_or_none()


async def _creds(hub: Hub, workspace_id: str, name: str) -> OAuth2Credentials:
    from hub.services import connections

    try:
        creds = await connections.get_credentials(hub, workspace_id=workspace_id, name=name)
    except HubError as exc:
        raise StepError(exc.message, code=exc.code, retryable=False) from None
    if not isinstance(creds, OAuth2Credentials):
        raise StepError(f"connection '{name}' does not use OAuth2", code="oauth_not_supported",
                        retryable=False)
    return creds


def _fresh(creds: OAuth2Credentials, stale: str | None) -> bool:
    token = creds.access_token.get_secret_value()
    if stale is not None and token == stale:
        return False
    return creds.expires_at is None or creds.expires_at - REFRESH_MARGIN > time.time()


async def access_token(hub: Hub, *, workspace_id: str, connection: str,
                       stale: str | None = None) -> str:
    """A valid access token for ``connection``, refreshed once if expiring or ``stale``."""
    creds = await _creds(hub, workspace_id, connection)
    if _fresh(creds, stale):
        return creds.access_token.get_secret_value()
    locks = _locks.setdefault(hub, {})
    lock = locks.setdefault(f"{workspace_id}:{connection}", asyncio.Lock())
    async with lock:
        creds = await _creds(hub, workspace_id, connection)
        if _fresh(creds, stale):
            return creds.access_token.get_secret_value()
        cid = await _connection_id(hub, workspace_id, connection)
        if cid is None:
            raise StepError(f"no connection '{connection}'", code="connection_not_found",
                            retryable=False)
        return await _refresh_leased(hub, workspace_id, connection, cid, stale)


async def _try_lease(hub: Hub, workspace_id: str, cid: str, holder: str) -> bool:
    now = time.time()
    t = oauth_refresh_leases
    try:
        async with hub.db.write() as conn:
            won = await conn.execute(t.update().where(
                t.c.connection_id == cid, t.c.expires_at < now).values(
                holder=holder, expires_at=now + LEASE_SECONDS))
            if won.rowcount == 1:
                return True
            if (await conn.execute(sa.select(t.c.holder).where(
                    t.c.connection_id == cid))).first() is not None:
                return False
            await conn.execute(t.insert().values(connection_id=cid, workspace_id=workspace_id,
                                                 holder=holder,
                                                 expires_at=now + LEASE_SECONDS))
            return True
    except sa.exc.IntegrityError:
        return False


async def _release(hub: Hub, cid: str, holder: str) -> None:
    t = oauth_refresh_leases
    async with hub.db.write() as conn:
        await conn.execute(t.update().where(t.c.connection_id == cid, t.c.holder == holder)
                           .values(expires_at=0.0))


async def _refresh_leased(hub: Hub, workspace_id: str, name: str, cid: str,
                          stale: str | None) -> str:
    holder = new_id("lease")
    deadline = time.monotonic() + LEASE_SECONDS + 5
    while not await _try_lease(hub, workspace_id, cid, holder):
        # Another process is refreshing: wait for its result instead of refreshing again.
        await asyncio.sleep(0.05)
        creds = await _creds(hub, workspace_id, name)
        if _fresh(creds, stale):
            return creds.access_token.get_secret_value()
        if time.monotonic() > deadline:
            raise StepError("token refresh is taking too long", code="oauth_refresh_failed")
    try:
        creds = await _creds(hub, workspace_id, name)
        if _fresh(creds, stale):
            return creds.access_token.get_secret_value()
        return await _refresh(hub, workspace_id, name, cid, creds)
    finally:
        await _release(hub, cid, holder)


async def _refresh(hub: Hub, workspace_id: str, name: str, cid: str,
                   creds: OAuth2Credentials) -> str:
    from hub.services import connections

    cls = oauth_connector(hub, await _connector_key(hub, cid))
    if creds.refresh_token is None:
        await connections.mark_needs_reauth(hub, workspace_id=workspace_id, connection_id=cid)
        raise StepError(f"connection '{name}' expired and has no refresh token",
                        code="needs_reauth", retryable=False)
    now = time.time()
    try:
        response = await _token_request(hub, cls, {
            "grant_type": "refresh_token",
            "refresh_token": creds.refresh_token.get_secret_value(),
            "client_id": creds.client_id,
            "client_secret": creds.client_secret.get_secret_value()})
    except HubError as exc:
        raise StepError(exc.message, code="oauth_refresh_failed") from None
    if response.status_code in (400, 401, 403):
        await connections.mark_needs_reauth(hub, workspace_id=workspace_id, connection_id=cid)
        raise StepError(f"the provider refused to refresh connection '{name}'; "
                        "authorise it again", code="needs_reauth", retryable=False)
    if response.status_code != 200:
        raise StepError(f"token refresh failed (HTTP {response.status_code})",
                        code="oauth_refresh_failed")
    try:
        values = _token_values(cls, _json(response), now)
    except HubError as exc:  # an error reported with HTTP 200: the refresh was refused
        await connections.mark_needs_reauth(hub, workspace_id=workspace_id, connection_id=cid)
        raise StepError(f"connection '{name}' could not be refreshed ({exc.message}); "
                        "authorise it again", code="needs_reauth", retryable=False) from None
    await connections.update_secrets(hub, workspace_id=workspace_id, connection_id=cid,
                                     values=values)
    return values["access_token"]


async def _connector_key(hub: Hub, cid: str) -> str:
    from hub.vault.tables import connections

    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(connections.c.connector).where(
            connections.c.id == cid))).scalar_one()


class OAuth2Auth(httpx.Auth):
    """Adds the connection's bearer token; on a 401 refreshes once and retries."""

    def __init__(self, hub: Hub, *, workspace_id: str, connection: str) -> None:
        self._hub, self._ws, self._name = hub, workspace_id, connection

    async def async_auth_flow(self, request: httpx.Request
                              ) -> AsyncGenerator[httpx.Request, httpx.Response]:
        token = await access_token(self._hub, workspace_id=self._ws, connection=self._name)
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            token = await access_token(self._hub, workspace_id=self._ws,
                                       connection=self._name, stale=token)
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def step_oauth(hub: Hub, use: str, connection: str | None,
               workspace_id: str) -> OAuth2Auth | None:
    """The ``ctx.oauth`` of a step: set when its connector uses OAuth2 (no I/O here)."""
    if connection is None:
        return None
    connector = hub.registry.connector_of(use)
    if connector.oauth2 is None:
        return None
    return OAuth2Auth(hub, workspace_id=workspace_id, connection=connection)
