"""ASGI middleware in front of ``/api/v1``: the bearer token (or the session cookie, with its
CSRF token on unsafe methods) is checked before anything of the body is read; then the body
is read with a cap (``HUB_API_MAX_BODY``) and a deadline (``HUB_BODY_TIMEOUT``), and a JSON
body nested deeper than ``HUB_MAX_JSON_DEPTH`` is refused before any parser sees it.

The principal is kept in the request's state, where ``hub.web.deps.current_principal`` takes
it: the token is looked up once per request. ``/hooks/*`` and everything outside ``/api/v1``
pass through untouched.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import Forbidden, HubError
from hub.parsing import json_problem
from hub.services.auth import session_principal
from hub.services.identity import Principal, authenticate
from hub.web.bodies import BodyTimeout, BodyTooLarge, ClientGone, declared_length, read_body
from hub.web.csrf import HEADER, SAFE_METHODS, session_cookie, verify
from hub.web.problems import problem

PREFIX = "/api/v1"
#: Paths under ``/api/v1`` that take no token (their bodies are still capped and checked).
ANONYMOUS: frozenset[str] = frozenset({"/api/v1/auth/login", "/api/v1/setup",
                                       "/api/v1/invitations/accept",
                                       "/api/v1/auth/password-reset"})
_JSON_TYPES = ("application/json",)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


async def _principal(hub: Any, scope: Scope) -> Principal:
    """The bearer token's principal; without an ``Authorization`` header, the session
    cookie's, and then an unsafe method needs the session's CSRF token."""
    conn = HTTPConnection(scope)
    cookie = session_cookie(conn)
    if cookie is None or "authorization" in conn.headers:
        return await authenticate(hub, _bearer(scope))
    principal = await session_principal(hub, cookie)
    if scope["method"] not in SAFE_METHODS and not verify(cookie, conn.headers.get(HEADER)):
        raise Forbidden("a signed-in request that changes something needs the session's "
                        f"CSRF token in the {HEADER} header", code="csrf_failed")
    return principal


def _is_json(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-type":
            ctype = value.decode("latin-1").split(";", 1)[0].strip().lower()
            return ctype in _JSON_TYPES or ctype.endswith("+json")
    return False


class ApiGuard:
    """Authenticate, then read and check the body, then call the app with the body replayed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        hub = scope["app"].state.hub
        try:
            principal = None if path in ANONYMOUS else await _principal(hub, scope)
        except HubError as exc:
            await self._refuse(scope, receive, send, exc.status, exc.code, exc.message)
            return
        if principal is not None:
            scope.setdefault("state", {})["principal"] = principal
        settings = hub.settings
        try:
            body = await read_body(receive, limit=settings.api_max_body,
                                   timeout=settings.body_timeout,
                                   declared=declared_length(scope["headers"]))
        except BodyTooLarge:
            await self._refuse(scope, receive, send, 413, "payload_too_large",
                               f"the request body is larger than {settings.api_max_body:,} "
                               "bytes (HUB_API_MAX_BODY)")
            return
        except BodyTimeout:
            await self._refuse(scope, receive, send, 408, "request_timeout",
                               f"the request body did not arrive within "
                               f"{settings.body_timeout:g}s")
            return
        except ClientGone:
            return
        bad = json_problem(body, settings.max_json_depth) if body and _is_json(scope) else None
        if bad is not None:
            await self._refuse(scope, receive, send, bad.status, bad.code, bad.message)
            return
        await self.app(scope, _replay(bytes(body), receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, status: int,
                      code: str, detail: str) -> None:
        hub = scope["app"].state.hub
        hub.metrics.http_errors.labels(code=code).inc()
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else {}
        if status in (408, 413):
            headers["Connection"] = "close"  # the rest of the body is never read
        await problem(status, code, detail, headers=headers)(scope, receive, send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app the body already read, then waits as the server's."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        message: dict[str, Any] = {"type": "http.request", "body": body, "more_body": False}
        return message

    return replay
