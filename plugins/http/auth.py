"""The ``http`` connector's credentials (one ``auth`` union) and how each kind signs a request.

OAuth2 client-credentials tokens are fetched through the step's client (so the egress policy
applies to the token URL too) and cached in the process per connection until 60 s before they
expire; concurrent steps share one fetch.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections import OrderedDict
from typing import Annotated, Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub import Credentials, StepError, provider_error

CACHE_SIZE = 256
MARGIN = 60.0


class _Auth(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BearerAuth(_Auth):
    type: Literal["bearer"] = Field(title="Kind")
    token: SecretStr = Field(title="Token", description="Sent as `Authorization: Bearer ...`.")


class BasicAuth(_Auth):
    type: Literal["basic"] = Field(title="Kind")
    username: str = Field(title="User name", max_length=500)
    password: SecretStr = Field(title="Password")


class ApiKeyAuth(_Auth):
    type: Literal["api_key"] = Field(title="Kind")
    name: str = Field(title="Header or parameter name", min_length=1, max_length=200,
                      examples=["X-API-Key"])
    api_key: SecretStr = Field(title="API key")
    location: Literal["header", "query"] = Field("header", title="Sent in")
    prefix: str = Field("", max_length=50, title="Prefix", description="e.g. `Token `.")


class ClientCredentialsAuth(_Auth):
    type: Literal["oauth2_client_credentials"] = Field(title="Kind")
    token_url: str = Field(title="Token URL", max_length=2000,
                           examples=["https://auth.example.com/oauth/token"])
    client_id: str = Field(title="Client ID", max_length=500)
    client_secret: SecretStr = Field(title="Client secret")
    scope: str = Field("", max_length=2000, title="Scope", description="Space-separated.")
    audience: str = Field("", max_length=2000, title="Audience",
                          description="Sent when set (Auth0 and others need it).")
    client_auth: Literal["basic", "body"] = Field(
        "basic", title="Client authentication",
        description="`basic`: HTTP basic header (RFC 6749's default); `body`: form fields.")


Auth = Annotated[BearerAuth | BasicAuth | ApiKeyAuth | ClientCredentialsAuth,
                 Field(discriminator="type")]


class HttpAuth(Credentials):
    """An ``http_auth`` connection: how ``http`` steps authenticate, and where."""

    auth: Auth = Field(title="Authentication")
    base_url: str | None = Field(
        None, max_length=2000, title="Base URL",
        description="When set, this connection's credentials are only sent to URLs under it; "
        "relative step URLs are joined to it.", examples=["https://api.example.com/v1/"])


_tokens: OrderedDict[str, tuple[str, float]] = OrderedDict()
_locks: dict[str, asyncio.Lock] = {}


def _cache_key(auth: ClientCredentialsAuth) -> str:
    raw = "\0".join((auth.token_url, auth.client_id, auth.client_secret.get_secret_value(),
                     auth.scope, auth.audience))
    return hashlib.sha256(raw.encode()).hexdigest()


def forget_token(auth: ClientCredentialsAuth) -> None:
    """Drop a cached token the API refused (revoked before it expired)."""
    _tokens.pop(_cache_key(auth), None)


async def _fetch_token(auth: ClientCredentialsAuth, http: httpx.AsyncClient) -> tuple[str, float]:
    form = {"grant_type": "client_credentials"}
    form |= {k: v for k, v in (("scope", auth.scope), ("audience", auth.audience)) if v}
    secret = auth.client_secret.get_secret_value()
    kwargs: dict[str, Any] = {"auth": httpx.BasicAuth(auth.client_id, secret)}
    if auth.client_auth == "body":
        form |= {"client_id": auth.client_id, "client_secret": secret}
        kwargs = {}
    try:
        answer = await http.post(auth.token_url, data=form,
                                 headers={"Accept": "application/json"}, **kwargs)
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider="the token endpoint") from None
    if answer.status_code in (400, 401):  # invalid_client / invalid_grant / invalid_scope
        raise provider_error(answer, provider="the token endpoint", code="invalid_auth")
    if answer.status_code >= 300:
        raise provider_error(answer, provider="the token endpoint")
    try:
        body = answer.json()
        token, ttl = body["access_token"], float(body.get("expires_in") or 3600)
    except (ValueError, KeyError, TypeError):
        raise StepError("the token endpoint answered without an access_token",
                        code="invalid_response", retryable=False) from None
    return str(token), time.time() + ttl


async def client_token(auth: ClientCredentialsAuth, http: httpx.AsyncClient) -> str:
    """A cached or freshly fetched client-credentials access token."""
    key = _cache_key(auth)
    async with _locks.setdefault(key, asyncio.Lock()):
        found = _tokens.get(key)
        if found is not None and found[1] - MARGIN > time.time():
            return found[0]
        token, expires = await _fetch_token(auth, http)
        _tokens[key] = (token, expires)
        _tokens.move_to_end(key)
        while len(_tokens) > CACHE_SIZE:
            _tokens.popitem(last=False)
    if len(_locks) > 2 * CACHE_SIZE:  # keys whose fetch failed leave a lock behind
        for name in [k for k, lock in _locks.items() if k not in _tokens and not lock.locked()]:
            del _locks[name]
    return token


class KeyAuth(httpx.Auth):
    """An API key in a header or the query. A redirect to another origin never carries it:
    the header is named sensitive (the hub's client drops it like ``Authorization``), and the
    query parameter is not in the next URL."""

    def __init__(self, auth: ApiKeyAuth) -> None:
        self._auth = auth

    def auth_flow(self, request: httpx.Request) -> Any:
        value = self._auth.prefix + self._auth.api_key.get_secret_value()
        if self._auth.location == "header":
            request.headers[self._auth.name] = value
            request.extensions = {**request.extensions,
                                  "sensitive_headers": (self._auth.name.lower(),)}
        else:
            request.url = request.url.copy_merge_params({self._auth.name: value})
        yield request


async def sign(auth: Any, http: httpx.AsyncClient,
               headers: dict[str, str]) -> httpx.Auth | None:
    """Add a bearer token to ``headers``; an ``httpx.Auth`` for the other kinds."""
    if isinstance(auth, BearerAuth):
        headers["Authorization"] = f"Bearer {auth.token.get_secret_value()}"
    elif isinstance(auth, BasicAuth):
        return httpx.BasicAuth(auth.username, auth.password.get_secret_value())
    elif isinstance(auth, ApiKeyAuth):
        return KeyAuth(auth)
    elif isinstance(auth, ClientCredentialsAuth):
        headers["Authorization"] = f"Bearer {await client_token(auth, http)}"
    return None
