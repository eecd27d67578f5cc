"""CSRF protection for cookie-authenticated requests (signed double submit).

The CSRF token of a session is an HMAC of the session cookie's secret value, so it needs no
storage and changes with every session. A cookie-authenticated unsafe request (``POST``,
``PUT``, ``PATCH``, ``DELETE``) must carry it: API calls in the ``X-CSRF-Token`` header, HTML
forms in a ``csrf_token`` field (check it with ``verify``). Bearer-token requests need none:
browsers never add that header by themselves.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.requests import HTTPConnection

COOKIE = "zh_session"
HEADER = "x-csrf-token"
FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def token_for(session: str) -> str:
    """The CSRF token of the session whose cookie value is ``session``."""
    return hmac.new(session.encode(), b"zaphub csrf v1", hashlib.sha256).hexdigest()


def verify(session: str, given: str | None) -> bool:
    """Whether ``given`` is the CSRF token of ``session`` (constant-time)."""
    return bool(given) and hmac.compare_digest(token_for(session), str(given))


def session_cookie(conn: HTTPConnection) -> str | None:
    """The session cookie's value of a request, if any."""
    return conn.cookies.get(COOKIE)


def token_for_request(conn: HTTPConnection) -> str | None:
    """The CSRF token for the request's session (for HTML forms), or ``None``."""
    cookie = session_cookie(conn)
    return token_for(cookie) if cookie else None
