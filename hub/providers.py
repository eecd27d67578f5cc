"""One mapping from a provider's failed answer to a ``StepError`` with a stable code.

Connectors call :func:`provider_error` with the failed ``httpx.Response`` (or the
``httpx.HTTPError`` a call raised) so every connector, built-in or third-party, reports the
same codes and the engine retries the same way:

========================  ==========  =================================================
code                      retryable   when
========================  ==========  =================================================
``invalid_auth``          no          401 / 403: the credentials were rejected
``rate_limited``          yes         429; ``extra["retry_after"]`` from ``Retry-After``
``provider_unavailable``  yes         5xx, or the provider cannot be reached
``timeout``               yes         408, or the call timed out
``provider_error``        no          any other 4xx, with the provider's own message
========================  ==========  =================================================
"""

from __future__ import annotations

import email.utils
import time
from typing import Any

import httpx

from hub.errors import StepError

MESSAGE_LIMIT = 500
RETRYABLE = frozenset({"rate_limited", "provider_unavailable", "timeout"})


def retry_after(headers: httpx.Headers | dict[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta seconds or an HTTP date), else ``None``."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def response_message(response: httpx.Response) -> str | None:
    """The error text of common JSON error bodies (``message``, ``error.message``,
    ``error_description``, ``error``), else the start of a text body."""
    try:
        body = response.json()
    except ValueError:
        return _text(response.text[:MESSAGE_LIMIT]) if response.text else None
    if not isinstance(body, dict):
        return None
    error = body.get("error")
    if isinstance(error, dict):
        return _text(error.get("message")) or _text(error.get("status"))
    return (_text(body.get("message")) or _text(body.get("error_description"))
            or _text(error) or _text(body.get("detail")))


def _code_for_status(status: int) -> str:
    if status in (401, 403):
        return "invalid_auth"
    if status == 429:
        return "rate_limited"
    if status == 408:
        return "timeout"
    if status >= 500:
        return "provider_unavailable"
    return "provider_error"


def _from_exception(exc: httpx.HTTPError, provider: str) -> StepError:
    if isinstance(exc, httpx.TimeoutException):
        return StepError(f"{provider} did not answer in time", code="timeout", retryable=True)
    return StepError(f"{provider} cannot be reached: {type(exc).__name__}",
                     code="provider_unavailable", retryable=True)


def provider_error(answer: httpx.Response | httpx.HTTPError, *, provider: str,
                   message: str | None = None, code: str | None = None,
                   wait: float | None = None) -> StepError:
    """A ``StepError`` for a provider's failed answer; raise what it returns.

    Args:
        answer: the failed response, or the transport error a call raised.
        provider: the provider's name for the message (``"GitHub"``).
        message: the provider's error text when the body is not a common shape.
        code: a stable code the connector chose from the provider's own error (e.g. a
            Slack ``ok: false`` answer); retryable only if it is one of the codes above.
        wait: seconds to wait before a retry when the provider says so elsewhere than in
            ``Retry-After`` (e.g. GitHub's ``X-RateLimit-Reset``).
    """
    if isinstance(answer, httpx.HTTPError):
        return _from_exception(answer, provider)
    status = answer.status_code
    code = code or _code_for_status(status)
    text = (message or response_message(answer) or answer.reason_phrase or "error")
    text = " ".join(text.split())[:MESSAGE_LIMIT]
    extra: dict[str, Any] = {"status": status}
    wait = wait if wait is not None else retry_after(answer.headers)
    if code == "rate_limited" and wait is not None:
        extra["retry_after"] = wait
    return StepError(f"{provider}: {text} (HTTP {status})", code=code,
                     retryable=code in RETRYABLE, extra=extra)
