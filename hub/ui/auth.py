"""Who is looking at a page, and the CSRF check on every form post.

All page handlers resolve their principal here, in one place: from the ``Authorization:
Bearer`` header (API tokens, e.g. from a browser extension or a test harness) or, once a
session cookie is present, from that session. A page without a principal redirects to the
sign-in page. Every form carries a token bound to the credential that signed the page in
(an HMAC keyed by that credential's hash), so another site cannot post a form on a user's
behalf; posts with a foreign ``Origin`` are refused as well.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, Request

from hub.errors import Forbidden, HubError, Unauthorized
from hub.services.identity import Principal, authenticate
from hub.web.deps import HubDep

MAX_FORM_BYTES = 1_048_576
MAX_FORM_FIELDS = 2_000
CSRF_FIELD = "csrf"


class SignInRequired(Exception):
    """Raised by page dependencies when nobody is signed in; becomes a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path

    @property
    def location(self) -> str:
        return "/sign-in?next=" + quote(self.next_path, safe="/")


@dataclass(frozen=True)
class PageContext:
    """What every page template sees: the principal and the form token."""

    principal: Principal
    csrf: str

    def can(self, role: str) -> bool:
        try:
            self.principal.require(role)
        except Forbidden:
            return False
        return True


def _credential(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


def csrf_for(credential: str) -> str:
    key = hashlib.sha256(credential.encode()).digest()
    return hmac.new(key, b"zaphub page form", hashlib.sha256).hexdigest()


async def page_principal(request: Request, hub: HubDep) -> Principal:
    """The signed-in principal of a page request (redirects to sign-in when there is none)."""
    request.state.ui = True
    credential = _credential(request)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if credential is None:
        raise SignInRequired(target)
    try:
        principal = await authenticate(hub, credential)
    except Unauthorized as exc:
        raise SignInRequired(target) from exc
    request.state.page = PageContext(principal, csrf_for(credential))
    return principal


PageUser = Annotated[Principal, Depends(page_principal)]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def read_form(request: Request) -> dict[str, list[str]]:
    """The posted form (URL-encoded, at most 1 MiB and 2,000 fields) after the CSRF check."""
    if int(request.headers.get("content-length") or 0) > MAX_FORM_BYTES:
        raise HubError("the form is larger than 1 MiB", code="payload_too_large", status=413)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HubError("the form is larger than 1 MiB", code="payload_too_large",
                           status=413)
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True,
                          max_num_fields=MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HubError("the form could not be read", code="malformed_form") from exc
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        form.setdefault(name, []).append(value)
    page: PageContext = request.state.page
    sent = (form.get(CSRF_FIELD) or [""])[0]
    if not _same_origin(request) or not hmac.compare_digest(sent, page.csrf):
        raise Forbidden("the form's security token is missing or stale: reload the page and "
                        "try again", code="csrf_failed")
    return form


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    return (form.get(name) or [default])[0]
