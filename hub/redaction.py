"""Keep secret values out of logs, errors and stored step data.

Secret values are registered here when the vault decrypts or receives them; a logging filter
masks them in every record, and ``mask`` replaces them inside JSON-like values (step outputs
that echo a token, error messages) before they are stored or returned.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from pydantic import BaseModel, SecretBytes, SecretStr

from hub.errors import BadRequest

MASK = "**********"
MIN_LENGTH = 4  # shorter values would mask ordinary words in logs shared by every workspace
MIN_SECRET_LENGTH = 8  # the shortest secret a connection accepts

_lock = threading.Lock()
_known: set[str] = set()
_ordered: tuple[str, ...] = ()


def register(*values: str) -> None:
    """Remember secret values so the logging filter masks them from now on."""
    global _ordered
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_LENGTH} - _known
    if fresh:
        with _lock:
            _known.update(fresh)
            _ordered = tuple(sorted(_known, key=len, reverse=True))  # longest first


def registered() -> tuple[str, ...]:
    return _ordered


def secret_fields(model: BaseModel | None) -> list[tuple[str, str]]:
    """``(path, plain value)`` of every ``SecretStr``/``SecretBytes`` field in ``model``."""
    found: list[tuple[str, str]] = []

    def walk(value: Any, path: str) -> None:
        if isinstance(value, SecretStr):
            found.append((path, value.get_secret_value()))
        elif isinstance(value, SecretBytes):
            found.append((path, value.get_secret_value().decode(errors="replace")))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name), f"{path}.{name}" if path else name)
        elif isinstance(value, list | tuple):
            for i, item in enumerate(value):
                walk(item, f"{path}[{i}]")

    walk(model, "")
    return found


def secret_values(model: BaseModel | None, min_length: int = MIN_LENGTH) -> tuple[str, ...]:
    """The plain values of every ``SecretStr``/``SecretBytes`` field in ``model`` (nested too)."""
    return tuple(v for _, v in secret_fields(model) if len(v) >= max(min_length, 1))


def require_long_secrets(model: BaseModel) -> None:
    """Refuse secret fields shorter than ``MIN_SECRET_LENGTH`` (``secret_too_short``).

    Masking a short value wherever it appears in run data or logs would mangle ordinary
    text, and not masking it would leak it; so a connection never stores one.
    """
    short = [path for path, value in secret_fields(model) if len(value) < MIN_SECRET_LENGTH]
    if short:
        raise BadRequest(f"{short[0]}: a secret must be at least {MIN_SECRET_LENGTH} characters "
                         "long", code="secret_too_short", extra={"fields": short})


def mask_text(text: str, values: tuple[str, ...] | None = None) -> str:
    for value in _ordered if values is None else values:
        if value in text:
            text = text.replace(value, MASK)
    return text


def mask(data: Any, values: tuple[str, ...] | None = None) -> Any:
    """A copy of a JSON-like value with every secret value masked inside its strings."""
    values = _ordered if values is None else tuple(sorted(values, key=len, reverse=True))
    if not values:
        return data
    return _mask(data, values)


def _mask(data: Any, values: tuple[str, ...]) -> Any:
    if isinstance(data, str):
        return mask_text(data, values)
    if isinstance(data, dict):
        return {_mask(k, values): _mask(v, values) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_mask(v, values) for v in data]
    return data


class RedactingFilter(logging.Filter):
    """Masks registered secret values in a record's message, arguments, extras and traceback."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _ordered:
            return True
        message = record.getMessage()
        masked = mask_text(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info:
            text = mask_text(self._formatter.formatException(record.exc_info))
            # keep the masked text only: formatters print exc_text, JSON logs the ``exc`` extra
            record.exc_info, record.exc_text = None, text
            record.exc = text
        for key, value in list(vars(record).items()):
            if isinstance(value, str) and key not in ("msg", "name", "pathname", "filename"):
                setattr(record, key, mask_text(value))
        return True


def install(logger: logging.Logger | logging.Handler) -> None:
    """Add the redacting filter once."""
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


_factory_lock = threading.Lock()


def install_record_factory() -> None:
    """Mask registered secrets in every log record as it is created (once per process).

    Filters on a logger see only records logged on that logger itself, not its children's,
    and filters on handlers miss handlers added later (test capture, a library's own). Masking
    in the record factory covers ``hub.*`` children and every handler alike.
    """
    with _factory_lock:
        previous = logging.getLogRecordFactory()
        if getattr(previous, "_hub_redacting", False):
            return
        masker = RedactingFilter()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            if _ordered:
                masker.filter(record)
            return record

        factory._hub_redacting = True  # type: ignore[attr-defined]
        logging.setLogRecordFactory(factory)
