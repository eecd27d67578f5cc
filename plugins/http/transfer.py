"""Sending one request through the step's client and reading the answer within a size limit,
parsed by its content type. Shared by ``http.request`` and ``http.poll_json``."""

from __future__ import annotations

import base64
import json
from email.message import Message
from typing import Any
from urllib.parse import urljoin

import httpx

from hub import StepError, provider_error

#: The largest response any ``http`` step may read (a step may ask for less).
MAX_RESPONSE_BYTES = 10 * 1024 * 1024
TEXT_TYPES = frozenset({"application/xml", "application/javascript", "application/ecmascript",
                        "application/x-www-form-urlencoded", "application/yaml",
                        "application/x-yaml", "application/graphql", "application/sql"})


def _base(base_url: str) -> httpx.URL:
    base = httpx.URL(base_url)
    if base.scheme not in ("http", "https") or not base.host:
        raise StepError("the connection's base URL must be an http(s) URL",
                        code="invalid_input", retryable=False)
    return base if base.path.endswith("/") else base.copy_with(path=base.path + "/")


def target_url(url: str, base_url: str | None) -> str:
    """The absolute URL to call; with a base URL, only URLs under it (credentials stay there)."""
    if base_url:
        base = _base(base_url)
        joined = httpx.URL(urljoin(str(base), url))
        same_origin = (joined.scheme, joined.host, joined.port) == (base.scheme, base.host,
                                                                    base.port)
        if not same_origin or not (joined.path + "/").startswith(base.path):
            raise StepError(f"{joined.host}{joined.path} is outside the connection's base URL; "
                            "its credentials are only sent there", code="url_not_allowed",
                            retryable=False)
        return str(joined)
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise StepError(f"invalid URL: {exc}", code="invalid_input", retryable=False) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise StepError("the URL must be an absolute http:// or https:// URL",
                        code="invalid_input", retryable=False)
    return url


def _too_large(limit: int) -> StepError:
    return StepError(f"the response is larger than {limit} bytes", code="response_too_large",
                     retryable=False)


async def _read(response: httpx.Response, limit: int) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():  # decoded: a compressed bomb stops here too
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def fetch(http: httpx.AsyncClient, request: httpx.Request, *, limit: int,
                follow: bool = False, auth: httpx.Auth | None = None
                ) -> tuple[httpx.Response, bytes]:
    """Send ``request``; the response and at most ``limit`` bytes of its (decoded) body."""
    provider = request.url.host or "the server"
    try:
        response = await http.send(request, stream=True, follow_redirects=follow,
                                   auth=auth if auth is not None else httpx.USE_CLIENT_DEFAULT)
    except httpx.TooManyRedirects:
        raise StepError("too many redirects", code="too_many_redirects",
                        retryable=False) from None
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider=provider) from None
    try:
        return response, await _read(response, limit)
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider=provider) from None
    finally:
        await response.aclose()


def _media(content_type: str) -> tuple[str, str]:
    msg = Message()
    msg["content-type"] = content_type or "application/octet-stream"
    return msg.get_content_type(), str(msg.get_param("charset") or "utf-8")


def _decode(content: bytes, charset: str) -> str:
    try:
        return content.decode(charset, errors="replace")
    except LookupError:  # an unknown charset name
        return content.decode("utf-8", errors="replace")


def parse_body(content: bytes, content_type: str) -> tuple[Any, str | None]:
    """``(body, encoding)``: JSON as data, text as a string, other bytes as base64."""
    if not content:
        return None, None
    mime, charset = _media(content_type)
    if mime == "application/json" or mime.endswith("+json"):
        try:
            return json.loads(_decode(content, charset)), None
        except (ValueError, RecursionError):
            raise StepError("the response says JSON but is not valid JSON",
                            code="invalid_response", retryable=False) from None
    if mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith("+xml"):
        return _decode(content, charset), None
    return base64.b64encode(content).decode("ascii"), "base64"


def headers_of(response: httpx.Response) -> dict[str, str]:
    """Response headers, lower-case names, repeated ones joined with ``, ``."""
    out: dict[str, str] = {}
    for name, value in response.headers.multi_items():
        name = name.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def with_body(response: httpx.Response, content: bytes) -> httpx.Response:
    """A copy of a streamed response holding the body that was read (for error messages)."""
    headers = [(k, v) for k, v in response.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(response.status_code, headers=headers, content=content,
                          request=response.request)
