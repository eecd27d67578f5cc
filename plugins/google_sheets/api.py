"""Sheets API v4 calls: the bearer token from the hub's OAuth2 connection, the answer read
within a size limit, Google's ``{"error": {"code", "message", "status"}}`` mapped to codes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import httpx

from hub import OAuth2Credentials, StepContext, StepError, provider_error

API = "https://sheets.googleapis.com/v4/spreadsheets"
MAX_BYTES = 10 * 1024 * 1024


def values_url(spreadsheet_id: str, cell_range: str, suffix: str = "") -> str:
    return f"{API}/{spreadsheet_id}/values/{quote(cell_range, safe='')}{suffix}"


def _auth(ctx: StepContext) -> tuple[dict[str, str], Any]:
    if not isinstance(ctx.creds, OAuth2Credentials) or ctx.http is None:
        raise StepError("the step needs a google_sheets connection", code="no_connection",
                        retryable=False)
    if ctx.oauth is not None:  # refreshed by the hub before expiry and after a 401
        return {}, ctx.oauth
    return {"Authorization": f"Bearer {ctx.creds.access_token.get_secret_value()}"}, None


async def _read(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_BYTES:
            raise StepError(f"the range is larger than {MAX_BYTES} bytes; ask for a smaller "
                            "range", code="response_too_large", retryable=False)
        chunks.append(chunk)
    return b"".join(chunks)


async def call(ctx: StepContext, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
    """One API call; the decoded JSON object, or a ``StepError``."""
    headers, auth = _auth(ctx)
    http: httpx.AsyncClient = ctx.http  # type: ignore[assignment]
    request = http.build_request(method, url, headers=headers, **kwargs)
    try:
        response = await http.send(request, stream=True,
                                   **({"auth": auth} if auth is not None else {}))
        try:
            content = await _read(response)
        finally:
            await response.aclose()
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider="Google Sheets") from None
    if response.status_code >= 400:
        failed = httpx.Response(response.status_code, headers={
            k: v for k, v in response.headers.items() if k.lower() == "retry-after"},
            content=content)
        raise provider_error(failed, provider="Google Sheets")
    try:
        body = json.loads(content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise StepError("Google Sheets answered with a body that is not a JSON object",
                        code="invalid_response", retryable=False)
    return body
