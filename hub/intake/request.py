"""Turning a raw webhook request into the run's ``trigger`` value, and per-hook rate limits."""

from __future__ import annotations

import base64
import time
from typing import Any
from urllib.parse import parse_qs

from hub.parsing import MAX_DEPTH, loads_json

#: Never shown to runs: credentials and cookies, whatever the scheme.
HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})


def media_type(headers: dict[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def parse_body(body: bytes | bytearray, headers: dict[str, str],
               max_depth: int = MAX_DEPTH) -> tuple[Any, str | None]:
    """The body as JSON, form fields, text or base64; the second value names an encoding.

    JSON nested deeper than ``max_depth`` is refused (400 ``too_deep``) before it is parsed.
    """
    ctype = media_type(headers)
    if ctype == "application/json" or ctype.endswith("+json"):
        if not body or body.isspace():  # (no copy of a large body, unlike .strip())
            return None, None
        return loads_json(body, max_depth=max_depth, what="the request body"), None
    if ctype == "application/x-www-form-urlencoded":
        fields = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}, None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"
    return text, None


def parse_query(raw: bytes) -> dict[str, Any]:
    fields = parse_qs(raw.decode("latin-1"), keep_blank_values=True)
    return {k: v[0] if len(v) == 1 else v for k, v in fields.items()}


class RateLimiter:
    """A token bucket: ``rate`` requests per second on average, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, float(burst)
        self.tokens = float(burst)
        self.stamp = time.monotonic()

    def take(self) -> float:
        """0 when the request may pass; else the seconds until it would."""
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate
