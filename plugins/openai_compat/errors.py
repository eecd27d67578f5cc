"""Provider HTTP errors to stable codes (shared by the OpenAI-compatible and Anthropic APIs)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from hub import ModelError

CONTEXT_MARKERS = ("context_length_exceeded", "maximum context length", "prompt is too long",
                   "too many tokens", "context window")


def retry_after(headers: httpx.Headers) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if "retry-after-ms" in headers:
        try:
            return max(float(headers["retry-after-ms"]) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        import time

        return max(parsedate_to_datetime(value).timestamp() - time.time(), 0.0)
    except (TypeError, ValueError):
        return None


def _detail(resp: httpx.Response) -> tuple[str, str]:
    """(error type or code, message) from an OpenAI- or Anthropic-shaped error body."""
    try:
        body: Any = resp.json()
    except ValueError:
        return "", ""
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):
        return "", ""
    kind = str(err.get("code") or err.get("type") or "")
    return kind, str(err.get("message") or "")[:300]


def error_from_response(resp: httpx.Response) -> ModelError:
    status = resp.status_code
    kind, message = _detail(resp)
    said = f"HTTP {status}" + (f" {kind}" if kind else "") + (f": {message}" if message else "")
    if status == 429 or kind in ("rate_limit_error", "rate_limit_exceeded"):
        return ModelError(f"rate limited ({said})", code="rate_limited",
                          retry_after=retry_after(resp.headers))
    if status in (401, 403) or kind in ("authentication_error", "permission_error",
                                        "invalid_api_key"):
        return ModelError(f"the provider refused the key ({said})", code="auth_failed")
    if status in (408, 504):
        return ModelError(f"the provider timed out ({said})", code="timeout")
    low = f"{kind} {message}".lower()
    if status in (400, 413) and any(m in low for m in CONTEXT_MARKERS):
        return ModelError(f"the prompt is too long for the model ({said})",
                          code="context_too_long")
    return ModelError(f"the provider failed ({said})", code="provider_error")
