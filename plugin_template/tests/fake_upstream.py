"""A stand-in for the Example API on loopback, for the tests and for trying the plugin in a
local hub. It serves ``GET /me``, ``POST /items`` (honouring ``Idempotency-Key``) and
``GET /items?after=&limit=`` (items oldest first; without ``after``, the newest page).

Run it alone with ``python tests/fake_upstream.py``: it prints its URL and serves until
Ctrl-C (the hub reaches it once ``HUB_EGRESS_ALLOW=127.0.0.1`` is set).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

MAX_BODY = 65536


class FakeExample:
    """The fake API. ``items`` and ``requests`` record what happened; set ``fail_with`` to an
    HTTP status to make every request fail with it."""

    def __init__(self, api_key: str = "sk-test", port: int = 0) -> None:
        self.api_key = api_key
        self.items: list[dict[str, Any]] = []
        self.requests: list[dict[str, Any]] = []
        self.fail_with: int | None = None
        self._by_key: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_item(self, name: str, note: str = "") -> dict[str, Any]:
        with self._lock:
            item = {"id": len(self.items) + 1, "name": name, "note": note}
            self.items.append(item)
            return item

    def start(self) -> FakeExample:
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()
        return self

    def serve(self) -> None:
        """Serve in this thread until ``stop`` (or Ctrl-C)."""
        self._server.serve_forever()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> FakeExample:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def answer(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, Any]:
        """The status and JSON body for one request."""
        url = urlsplit(target)
        self.requests.append({"method": method, "path": url.path, "headers": headers,
                              "body": body.decode("utf-8", "replace")})
        if self.fail_with is not None:
            return self.fail_with, {"error": "failing on purpose"}
        if headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, {"error": "bad API key"}
        if (method, url.path) == ("GET", "/me"):
            return 200, {"id": "me", "name": "Test user"}
        if (method, url.path) == ("POST", "/items"):
            return self._create(headers.get("idempotency-key"), body)
        if (method, url.path) == ("GET", "/items"):
            return self._page(parse_qs(url.query))
        return 404, {"error": "not found"}

    def _create(self, key: str | None, body: bytes) -> tuple[int, Any]:
        try:
            data = json.loads(body)
            name, note = str(data["name"]), str(data.get("note", ""))
        except (ValueError, KeyError, TypeError):
            return 422, {"error": "expected {\"name\": ...}"}
        if key and key in self._by_key:
            return 200, self._by_key[key]
        item = self.add_item(name, note)
        if key:
            self._by_key[key] = item
        return 201, item

    def _page(self, query: dict[str, list[str]]) -> tuple[int, Any]:
        try:
            limit = min(max(int(query.get("limit", ["50"])[0]), 1), 100)
            after = int(query["after"][0]) if "after" in query else None
        except ValueError:
            return 400, {"error": "after and limit are integers"}
        with self._lock:
            if after is None:
                return 200, {"items": self.items[-limit:]}
            return 200, {"items": [i for i in self.items if i["id"] > after][:limit]}


def _handler(fake: FakeExample) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            length = min(int(self.headers.get("content-length") or 0), MAX_BODY)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, data = fake.answer(self.command, self.path, headers, body)
            raw = json.dumps(data).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)

        do_GET = do_POST = _serve

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

    return Handler


if __name__ == "__main__":
    server = FakeExample(api_key=sys.argv[1] if len(sys.argv) > 1 else "sk-test",
                         port=int(sys.argv[2]) if len(sys.argv) > 2 else 8765)
    print(f"fake API on {server.url} (API key {server.api_key}); Ctrl-C stops it", flush=True)
    try:
        server.serve()
    except KeyboardInterrupt:
        server.stop()
