"""Request dependencies: the hub, the calling principal, permission checks.

Every route declares what it needs with ``need("<permission>")`` (names and the roles that
have them: ``hub.permissions``); ``Viewer``, ``Editor`` and ``Admin`` are the generic
``read``, ``write`` and ``admin`` permissions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from hub.context import Hub
from hub.errors import Forbidden
from hub.permissions import PERMISSIONS
from hub.services.auth import session_principal
from hub.services.identity import Principal, authenticate
from hub.web import csrf


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def current_principal(request: Request, hub: HubDep) -> Principal:
    """The caller; ``hub.web.apiguard`` has already authenticated every ``/api/v1`` request.

    Elsewhere: the bearer token, else the session cookie (whose unsafe requests need the CSRF
    token in the ``X-CSRF-Token`` header or a ``csrf_token`` form field)."""
    found = getattr(request.state, "principal", None)
    if isinstance(found, Principal):
        return found
    cookie = csrf.session_cookie(request)
    if cookie is not None and "authorization" not in request.headers:
        principal = await session_principal(hub, cookie)
        if request.method not in csrf.SAFE_METHODS and not csrf.verify(
                cookie, request.headers.get(csrf.HEADER) or await _form_token(request)):
            raise Forbidden("missing or wrong CSRF token", code="csrf_failed")
        return principal
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return await authenticate(hub, token.strip() if scheme.lower() == "bearer" else None)


async def _form_token(request: Request) -> str | None:
    if not request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    value = (await request.form()).get(csrf.FIELD)
    return value if isinstance(value, str) else None


CurrentUser = Annotated[Principal, Depends(current_principal)]


def need(permission: str) -> Any:
    """A dependency that needs ``permission`` (see ``hub.permissions``)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(principal: CurrentUser) -> Principal:
        principal.require(permission)
        return principal

    check.hub_permission = permission  # type: ignore[attr-defined] - read by hub.web.openapi
    return Depends(check)


async def _public() -> None:
    """No caller needed (signing in, the setup link): declared, so no route is public by
    omission."""


_public.hub_permission = "public"  # type: ignore[attr-defined]
PUBLIC = Depends(_public)

Viewer = Annotated[Principal, need("read")]
Editor = Annotated[Principal, need("write")]
Admin = Annotated[Principal, need("admin")]
Member = Annotated[Principal, need("tokens.own")]
