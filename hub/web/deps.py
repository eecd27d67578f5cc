"""Request dependencies: the hub, the calling principal, permission checks.

Every route declares what it needs with ``need("<permission>")`` (names and the roles that
have them: ``hub.permissions``); ``Viewer``, ``Editor`` and ``Admin`` are the generic
``read``, ``write`` and ``admin`` permissions.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from hub import audit
from hub.context import Hub
from hub.errors import Forbidden
from hub.permissions import PERMISSIONS
from hub.services.auth import session_principal
from hub.services.identity import Principal, authenticate
from hub.services.refusals import record_denial
from hub.services.runs import zap_of_run
from hub.web import csrf

#: what a token limited to named zaps may do besides those zaps
OWN = frozenset({"tokens.own"})


def get_hub(request: Request) -> Hub:
    return request.app.state.hub


HubDep = Annotated[Hub, Depends(get_hub)]


async def current_principal(request: Request, hub: HubDep) -> Principal:
    """The caller (see ``_principal``); what the request changes is audited as done by them."""
    found = await _principal(request, hub)
    audit.act_as(found.actor)
    return found


async def _principal(request: Request, hub: Hub) -> Principal:
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


async def _within_zaps(request: Request, hub: Hub, who: Principal, permission: str) -> None:
    """A token limited to named zaps reaches those zaps and their runs, and its own tokens."""
    params = request.path_params
    zap_id = params.get("zap_id")
    if zap_id is None and "run_id" in params:
        zap_id = await zap_of_run(hub, workspace_id=who.workspace_id, run_id=params["run_id"])
        if zap_id is None:
            return  # the route answers run_not_found
    if zap_id is None and permission in OWN:
        return
    if zap_id is None or not who.may_use_zap(zap_id):
        raise Forbidden("this token is limited to named zaps: it cannot reach this",
                        code="token_scope")


def need(permission: str) -> Any:
    """A dependency that needs ``permission`` (see ``hub.permissions``)."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    async def check(request: Request, principal: CurrentUser, hub: HubDep) -> Principal:
        try:
            principal.require(permission)
            if principal.zaps is not None:
                await _within_zaps(request, hub, principal, permission)
        except Forbidden as exc:
            route = getattr(request.scope.get("route"), "path", request.url.path)
            await record_denial(hub, principal, code=exc.code, permission=permission,
                                route=f"{request.method} {route}")
            raise
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
