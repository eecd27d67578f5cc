"""Who is looking at a page, and the CSRF check on every form post.

All page handlers resolve their principal here, in one place: from the session cookie
(``hub.services.auth``) or an ``Authorization: Bearer`` API token. A page without a principal
redirects to the sign-in page. Every form carries the CSRF token of the credential that signed
the page in (``hub.web.csrf``), so another site cannot post a form on a user's behalf; posts
with a foreign ``Origin`` are refused as well.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote, urlsplit

from fastapi import Depends, Request

from hub import audit
from hub.errors import Forbidden, HubError, Unauthorized
from hub.permissions import PERMISSIONS
from hub.services.auth import session_principal, whoami
from hub.services.identity import Principal, authenticate
from hub.web import csrf
from hub.web.deps import HubDep

MAX_FORM_BYTES = 1_048_576
MAX_FORM_FIELDS = 2_000
CSRF_FIELD = csrf.FIELD


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
    me: dict[str, Any] | None = None  # who is signed in, and their workspaces (sessions)
    via_token: bool = False  # an API token, not a session: no form token needed

    def can(self, permission: str) -> bool:
        return self.principal.can(permission)


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


async def page_principal(request: Request, hub: HubDep) -> Principal:
    """The signed-in principal of a page request (redirects to sign-in when there is none)."""
    request.state.ui = True
    bearer, cookie = _bearer(request), csrf.session_cookie(request)
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if bearer is None and cookie is None:
        raise SignInRequired(target)
    try:
        principal = await (authenticate(hub, bearer) if bearer is not None
                           else session_principal(hub, cookie))
    except Unauthorized as exc:
        raise SignInRequired(target) from exc
    audit.act_as(principal.actor)  # what the page changes is audited as done by them
    me = await whoami(hub, who=principal) if principal.session_id else None
    request.state.page = PageContext(principal, csrf.token_for(bearer or cookie or ""), me,
                                     via_token=bearer is not None)
    return principal


def page_needs(permission: str) -> Any:
    """A page dependency that needs ``permission`` (declared like ``hub.web.deps.need``)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(principal: Annotated[Principal, Depends(page_principal)]) -> Principal:
        principal.require(permission)
        return principal

    check.hub_permission = permission  # type: ignore[attr-defined] - read by hub.web.openapi
    return Depends(check)


#: The signed-in principal of any page (the ``read`` permission); routes that need more
#: add ``dependencies=[page_needs(...)]``.
PageUser = Annotated[Principal, page_needs("read")]


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.headers.get("host", "")


async def parse_form(request: Request) -> dict[str, list[str]]:
    """The posted URL-encoded form (at most 1 MiB and 2,000 fields), after an ``Origin``
    check; no CSRF token needed (for the sign-in and link pages, before any session)."""
    request.state.ui = True
    if not _same_origin(request):
        raise Forbidden("the form was posted from another site", code="csrf_failed")
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
    return form


async def read_form(request: Request) -> dict[str, list[str]]:
    """The posted form of a signed-in page, after the CSRF check (a request with an API
    token needs none: browsers never add that header by themselves)."""
    form = await parse_form(request)
    page: PageContext = request.state.page
    if page.via_token:
        return form
    if not hmac.compare_digest((form.get(CSRF_FIELD) or [""])[0], page.csrf):
        raise Forbidden("the form's security token is missing or stale: reload the page and "
                        "try again", code="csrf_failed")
    return form


def first(form: dict[str, list[str]], name: str, default: str = "") -> str:
    return (form.get(name) or [default])[0]
