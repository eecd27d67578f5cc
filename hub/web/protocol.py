"""The HTTP protocol ``hub serve`` gives uvicorn: its own, plus a deadline for the request
line and headers (``HUB_HEADER_TIMEOUT``) and a cap on their size.

uvicorn closes idle keep-alive connections, but any byte received cancels that timer, so a
client sending its headers a byte at a time (slowloris) holds a connection open forever. Here
a connection must deliver complete headers within the deadline after it opens and after each
response; otherwise it gets ``408`` (if a request had begun) and is closed. Body deadlines are
enforced where the body is read (``hub.web.bodies``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

log = logging.getLogger("hub.web")
#: Request line plus headers, in bytes (uvicorn's h11 mode has a similar cap; httptools none).
MAX_HEADER_BYTES = 65_536


def _problem(status: int, reason: str, code: str, detail: str) -> bytes:
    body = json.dumps({"type": f"urn:zaphub:problem:{code}", "title": code.replace("_", " "),
                       "status": status, "detail": detail, "code": code}).encode()
    head = (f"HTTP/1.1 {status} {reason}\r\ncontent-type: application/problem+json\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n")
    return head.encode("ascii") + body


def http_protocol(header_timeout: float) -> type | None:
    """uvicorn's httptools protocol with the header deadline, or ``None`` without httptools."""
    if _Base is None:  # pragma: no cover - httptools comes with uvicorn[standard]
        log.warning("httptools is not installed: no header read timeout")
        return None
    return type("HubHttpProtocol", (HeaderDeadline,), {"header_timeout": header_timeout})


try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _Base
except ImportError:  # pragma: no cover
    _Base = None  # type: ignore[assignment, misc]


class HeaderDeadline(_Base or object):  # type: ignore[misc]
    """``HttpToolsProtocol`` with a header deadline and a header size cap."""

    header_timeout = 10.0
    _timer: asyncio.TimerHandle | None = None
    _begun = False
    _header_bytes = 0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if not self.transport.is_closing():  # nothing more is read from a refused client
            super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._begun, self._header_bytes = True, 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value))
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        self._begun = False
        if not self.transport.is_closing():  # e.g. refused above within the same read
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self.cycle is not None and not self.transport.is_closing():
            super().on_body(body)

    def on_message_complete(self) -> None:
        if self.cycle is not None and not self.transport.is_closing():
            super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing() and self._idle():
            self._arm()  # the next request's headers have the same deadline

    def _idle(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._timer = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
            self._refuse(_problem(431, "Request Header Fields Too Large", "headers_too_large",
                                  f"the request line and headers are larger than "
                                  f"{MAX_HEADER_BYTES:,} bytes"))

    def _expired(self) -> None:
        self._timer = None
        if self.transport.is_closing() or not self._idle():
            return
        if self._begun:
            self._refuse(_problem(408, "Request Timeout", "request_timeout",
                                  f"the request headers did not arrive within "
                                  f"{self.header_timeout:g}s"))
        else:
            self.transport.close()

    def _refuse(self, answer: bytes) -> None:
        self._disarm()
        self.transport.write(answer)
        self.transport.close()
