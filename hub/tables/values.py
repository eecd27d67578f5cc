"""Column types: checking values from JSON, converting text (CSV cells, URL keys), writing text,
and the normalised form the blind index hashes.

Types: ``text``, ``number``, ``integer``, ``boolean``, ``datetime`` (ISO 8601, stored
normalised to UTC as ``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``; a time without an offset is taken as
UTC) and ``json`` (any JSON value). ``None`` is an empty cell in every type.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

TYPES = ("text", "number", "integer", "boolean", "datetime", "json")
KEY_TYPES = frozenset({"text", "integer", "datetime"})
INDEX_TYPES = frozenset({"text", "number", "integer", "boolean", "datetime"})
ORDERED_TYPES = frozenset({"text", "number", "integer", "datetime"})
MAX_INT = 2**63 - 1
MAX_JSON_DEPTH = 32
_TRUE = frozenset({"true", "1", "yes", "y", "t"})
_FALSE = frozenset({"false", "0", "no", "n", "f"})
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class ValueProblem(ValueError):
    """A value does not fit its column's type (the message says why, never the value)."""


def _datetime(text: str) -> str:
    if len(text) > 64:
        raise ValueProblem("is not an ISO 8601 date-time")
    try:
        parsed = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueProblem("is not an ISO 8601 date-time (e.g. 2025-01-31T09:30:00Z)") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    parsed = parsed.astimezone(UTC)
    micro = f".{parsed.microsecond:06d}" if parsed.microsecond else ""
    return parsed.strftime("%Y-%m-%dT%H:%M:%S") + micro + "Z"


def _encodable(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueProblem("is not valid Unicode text") from None
    return text


def _depth_ok(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_JSON_DEPTH:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _number(value: Any) -> int | float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueProblem("must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueProblem("must be a finite number")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise ValueProblem("is out of range")
    return value


def _integer(value: Any) -> int:
    number = _number(value)
    if isinstance(number, float):
        if not number.is_integer():
            raise ValueProblem("must be a whole number")
        number = int(number)
    if abs(number) > MAX_INT:
        raise ValueProblem("is out of range")
    return number


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem("must be text")
    return _encodable(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueProblem("must be true or false")
    return value


def _datetime_value(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueProblem("must be an ISO 8601 date-time string")
    return _datetime(value)


def _json(value: Any) -> Any:
    if not _depth_ok(value):
        raise ValueProblem(f"is nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        _dumps(value).encode("utf-8")
    except (ValueError, TypeError):  # NaN, a lone surrogate, a non-JSON object
        raise ValueProblem("is not valid JSON") from None
    return value


_CHECKS = {"text": _text, "number": _number, "integer": _integer, "boolean": _boolean,
           "datetime": _datetime_value, "json": _json}


def check(kind: str, value: Any) -> Any:
    """``value`` (from JSON) as stored in a ``kind`` column; raises ``ValueProblem``."""
    return None if value is None else _CHECKS[kind](value)


def _parse_number(text: str) -> int | float:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return _number(float(text))
    except ValueError:
        raise ValueProblem("is not a number") from None


def parse(kind: str, text: str) -> Any:
    """A value from text (a CSV cell, a key in a URL); an empty string is ``None``."""
    if text == "":
        return None
    if kind == "text":
        return _encodable(text)
    if kind == "datetime":
        return _datetime(text)
    stripped = text.strip()
    if kind == "number":
        return _number(_parse_number(stripped))
    if kind == "integer":
        try:
            return _integer(int(stripped))
        except ValueError:
            raise ValueProblem("is not a whole number") from None
    if kind == "boolean":
        lowered = stripped.lower()
        if lowered in _TRUE or lowered in _FALSE:
            return lowered in _TRUE
        raise ValueProblem("is not true or false")
    try:
        return check(kind, json.loads(text))
    except (ValueError, RecursionError):
        raise ValueProblem("is not valid JSON") from None


def to_text(kind: str, value: Any) -> str:
    """A stored value as text (CSV export); ``None`` is the empty string."""
    if value is None:
        return ""
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("text", "datetime"):
        return value
    return _dumps(value)


def size(value: Any) -> int:
    """Bytes the value takes when encoded."""
    if isinstance(value, str):
        return len(value.encode("utf-8")) + 2
    return len(_dumps(value).encode("utf-8"))


def encoded_size(data: dict[str, Any]) -> int:
    """Bytes of a whole row's encoded values."""
    return len(_dumps(data).encode("utf-8"))


def normalised(kind: str, value: Any) -> str:
    """The form the blind index hashes: equal values of a column always give the same text."""
    if kind == "number":
        return repr(float(value))
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "integer":
        return str(int(value))
    return str(value)


def sort_key(kind: str, value: Any) -> Any:
    """A key that orders a column's values (datetimes by instant, not by text)."""
    if kind == "datetime":
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value
