"""Reading a request body from ASGI ``receive`` with a size cap and a deadline.

The body goes into one buffer (preallocated from ``Content-Length`` when the client sent it),
never a list of chunks joined at the end, so a body costs its own size once, not twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.types import Receive


class BodyTooLarge(Exception):
    """The body is (or says it is) larger than the limit."""


class BodyTimeout(Exception):
    """The client did not send the whole body in time."""


class ClientGone(Exception):
    """The client disconnected before the body was complete."""


def declared_length(headers: Any) -> int | None:
    """``Content-Length`` from ASGI headers (a list of byte pairs), or ``None``."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


async def read_body(receive: Receive, *, limit: int, timeout: float,
                    declared: int | None = None) -> bytearray:
    """The whole body, or ``BodyTooLarge`` / ``BodyTimeout`` / ``ClientGone``.

    ``timeout`` bounds the whole body (a client trickling a byte at a time is cut off too).
    """
    if declared is not None and declared > limit:
        raise BodyTooLarge
    buf = bytearray(declared or 0)
    size = 0
    try:
        async with asyncio.timeout(timeout):
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone
                chunk = message.get("body", b"")
                end = size + len(chunk)
                if end > limit:
                    raise BodyTooLarge
                buf[size:end] = chunk  # in place while it fits the preallocated length
                size = end
                if not message.get("more_body", False):
                    break
    except TimeoutError:
        raise BodyTimeout from None
    if size < len(buf):
        del buf[size:]
    return buf
