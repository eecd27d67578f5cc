"""Slow and oversized clients against a real `hub serve` on loopback: header and body
deadlines (HUB_HEADER_TIMEOUT, HUB_BODY_TIMEOUT) answer 408 and close, huge headers get 431,
and a zap cannot raise its webhook body limit above the operator's HUB_HOOK_MAX_BODY_LIMIT."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from serverhelp import Server, hub_server, read_until_closed

HOOK_ZAP = {"name": "hook", "trigger": {"kind": "webhook", "config": {}},
            "steps": [{"id": "a", "use": "core.transform", "input": {"b": "{{ trigger.body }}"}}]}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with hub_server(tmp_path_factory.mktemp("slow") / "data", header_timeout="1",
                    body_timeout="1", hook_max_body_limit="65536") as srv:
        yield srv


@pytest.fixture(scope="module")
def hook_path(server: Server) -> str:
    with server.client() as c:
        zid = c.post("/api/v1/zaps", json=HOOK_ZAP).json()["id"]
        return c.get(f"/api/v1/zaps/{zid}/trigger").json()["webhook"]["path"]


def _trickle(sock: socket.socket, start: bytes, drip: bytes, seconds: float) -> bytes:
    """Send ``start``, then ``drip`` a byte every 0.2 s; what the server answered, if it did."""
    sock.sendall(start)
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    for byte in drip:
        try:
            sock.sendall(bytes([byte]))
            answer = sock.recv(65536)
        except TimeoutError:
            if time.monotonic() > deadline:
                return b""
            continue
        except (BrokenPipeError, ConnectionResetError):
            return b""
        return answer + read_until_closed(sock, 5)[0]
    return b""


def test_header_trickle_gets_408_and_is_closed(server: Server) -> None:
    with server.connect() as sock:
        started = time.monotonic()
        answer = _trickle(sock, b"GET /healthz HTTP/1.1\r\nHost: a\r\n", b"X-Slow: " * 100, 15)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"code": "request_timeout"' in answer
    assert elapsed < 8  # the deadline is 1 s; generous for a busy machine


def test_a_silent_connection_is_closed(server: Server) -> None:
    with server.connect() as sock:
        data, elapsed = read_until_closed(sock, 15)
    assert data == b"" and elapsed < 8


def test_huge_headers_get_431(server: Server) -> None:
    with server.connect() as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: a\r\n")
        try:
            for _ in range(20):
                sock.sendall(b"X-Big: " + b"a" * 8000 + b"\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass
        data, _ = read_until_closed(sock, 10)
    assert data.startswith(b"HTTP/1.1 431"), data[:200]


def test_keep_alive_requests_still_work(server: Server) -> None:
    with server.client() as c:
        for _ in range(3):
            assert c.get("/healthz").status_code == 200
            time.sleep(0.4)  # below the header deadline between requests


@pytest.mark.parametrize("kind", ["hook", "api"])
def test_body_trickle_gets_408(server: Server, hook_path: str, kind: str) -> None:
    path = hook_path if kind == "hook" else "/api/v1/zaps"
    auth = f"Authorization: Bearer {server.token}\r\n" if kind == "api" else ""
    head = (f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n{auth}"
            "Content-Length: 1000\r\n\r\n{\"a\": \"").encode()
    with server.connect() as sock:
        started = time.monotonic()
        answer = _trickle(sock, head, b"x" * 200, 15)
        elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:300]
    assert b"request_timeout" in answer and elapsed < 8


def test_hook_body_over_the_operator_limit_is_refused_unread(server: Server,
                                                             hook_path: str) -> None:
    with server.client() as c:
        r = c.post(hook_path, content=b"x" * 70_000)
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


def test_zap_cannot_ask_for_more_than_the_operator_allows(server: Server) -> None:
    zap = {**HOOK_ZAP, "name": "greedy",
           "trigger": {"kind": "webhook", "config": {"max_body_bytes": 1_000_000}}}
    with server.client() as c:
        r = c.post("/api/v1/zaps", json=zap)
    assert r.status_code == 422 and r.json()["code"] == "invalid_zap"
    assert r.json()["errors"][0]["path"] == "trigger.config.max_body_bytes"
    assert "HUB_HOOK_MAX_BODY_LIMIT" in r.json()["errors"][0]["message"]
