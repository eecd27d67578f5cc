"""``http.request``: call any HTTP API; the answer parsed into ``{status, headers, body}``."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub import Action, StepContext, StepError, provider_error

from .auth import ClientCredentialsAuth, HttpAuth, forget_token, sign
from .transfer import (
    MAX_RESPONSE_BYTES,
    fetch,
    headers_of,
    parse_body,
    target_url,
    with_body,
)

MAX_BODY_CHARS = 10 * 1024 * 1024
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,200}$")
Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def check_headers(headers: dict[str, str]) -> dict[str, str]:
    for name, value in headers.items():
        if not _TOKEN.match(name):
            raise ValueError(f"invalid header name {name[:50]!r}")
        if any(c in value for c in "\r\n\0") or len(value) > 8192:
            raise ValueError(f"invalid value for header {name!r}")
    return headers


class RequestInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: Method = Field("GET", title="Method")
    url: str = Field(title="URL", min_length=1, max_length=8192,
                     description="Absolute, or relative to the connection's base URL.",
                     examples=["https://api.example.com/v1/orders"])
    query: dict[str, Any] = Field(default_factory=dict, title="Query parameters")
    headers: dict[str, str] = Field(default_factory=dict, title="Headers")
    body: Any = Field(None, title="Body", description="Nothing is sent when empty.")
    body_format: Literal["json", "form", "text", "base64"] = Field(
        "json", title="Body format", description="`json`, `form` (an object of fields), "
        "`text` (a string), or `base64` (bytes given as base64).")
    timeout: float = Field(30.0, gt=0, le=300, title="Timeout (s)")
    follow_redirects: bool = Field(False, title="Follow redirects",
                                   description="Each hop is checked like the first.")
    max_response_bytes: int = Field(1_048_576, ge=1, le=MAX_RESPONSE_BYTES,
                                    title="Response size limit (bytes)")
    fail_on_status: bool = Field(True, title="Fail on 4xx/5xx",
                                 description="Off: a 4xx/5xx answer is returned as output.")
    idempotency_header: str | None = Field(
        None, max_length=200, title="Idempotency header",
        description="Send the step's idempotency key in this header (e.g. Idempotency-Key).")

    _headers = field_validator("headers")(check_headers)


class ResponseOutput(BaseModel):
    status: int = Field(title="Status code")
    headers: dict[str, str] = Field(title="Headers")
    body: Any = Field(None, title="Body")
    body_encoding: Literal["base64"] | None = Field(None, title="Body encoding")
    url: str = Field(title="Final URL")


def _bad(message: str) -> StepError:
    return StepError(message, code="invalid_input", retryable=False)


def body_kwargs(payload: RequestInput) -> dict[str, Any]:
    """The body arguments of ``httpx.build_request`` for the step's ``body``."""
    body, fmt = payload.body, payload.body_format
    if body is None or body == "":
        return {}
    if fmt == "json":
        return {"json": body}
    if fmt == "form":
        if not isinstance(body, dict):
            raise _bad("a form body must be an object of fields")
        return {"data": {str(k): v if isinstance(v, list) else str(v) for k, v in body.items()}}
    if not isinstance(body, str) or len(body) > MAX_BODY_CHARS:
        raise _bad(f"a {fmt} body must be a string of at most {MAX_BODY_CHARS} characters")
    if fmt == "text":
        return {"content": body.encode()}
    try:
        return {"content": base64.b64decode(body, validate=True)}
    except (binascii.Error, ValueError):
        raise _bad("the body is not valid base64") from None


def _default_type(payload: RequestInput, headers: dict[str, str]) -> None:
    types = {"text": "text/plain; charset=utf-8", "base64": "application/octet-stream"}
    wanted = types.get(payload.body_format)
    if wanted and payload.body and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = wanted


class Request(Action):
    key = "request"
    title = "HTTP request"
    description = ("Calls any HTTP API (optionally with an http_auth connection) and returns "
                   "the status, headers and parsed body.")
    Input = RequestInput
    Output = ResponseOutput

    async def run(self, payload: RequestInput, ctx: StepContext) -> ResponseOutput:
        if ctx.http is None:
            raise StepError("no outbound client", code="no_client", retryable=False)
        creds = ctx.creds if isinstance(ctx.creds, HttpAuth) else None
        response, content = await self._send(payload, ctx, creds, ctx.http)
        cc = creds is not None and isinstance(creds.auth, ClientCredentialsAuth)
        if cc and response.status_code == 401:  # a cached token revoked early: fetch once more
            forget_token(creds.auth)  # type: ignore[union-attr, arg-type]
            response, content = await self._send(payload, ctx, creds, ctx.http)
        if payload.fail_on_status and response.status_code >= 400:
            raise provider_error(with_body(response, content),
                                 provider=response.url.host or "the server")
        body, encoding = parse_body(content, response.headers.get("content-type", ""))
        return ResponseOutput(status=response.status_code, headers=headers_of(response),
                              body=body, body_encoding=encoding, url=str(response.url))

    async def _send(self, payload: RequestInput, ctx: StepContext, creds: HttpAuth | None,
                    http: httpx.AsyncClient) -> tuple[httpx.Response, bytes]:
        url = target_url(payload.url, creds.base_url if creds else None)
        headers, query = dict(payload.headers), dict(payload.query)
        if payload.idempotency_header:
            headers[payload.idempotency_header] = ctx.idempotency_key
        _default_type(payload, headers)
        auth = await sign(creds.auth, http, headers) if creds else None
        try:
            request = http.build_request(payload.method, url, params=query or None,
                                         headers=headers, timeout=payload.timeout,
                                         **body_kwargs(payload))
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise _bad(f"cannot build the request: {exc}") from None
        return await fetch(http, request, limit=payload.max_response_bytes,
                           follow=payload.follow_redirects, auth=auth)

