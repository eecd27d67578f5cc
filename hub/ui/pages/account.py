"""Signing in and out, the workspace switcher, and the pages behind the single-use links:
first-start setup (the owner's password), invitations, password resets. Sessions are the
ones of ``hub.services.auth`` (cookie HttpOnly, SameSite=Lax, Secure on an https public URL)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from hub.context import Hub
from hub.errors import HubError
from hub.services import auth as auth_service
from hub.services import invites
from hub.ui.auth import PageUser, first, parse_form, read_form
from hub.ui.render import render
from hub.web import csrf
from hub.web.deps import PUBLIC, HubDep
from hub.web.routers.auth import set_session_cookie

router = APIRouter(include_in_schema=False)
#: link pages: path → (title, what the form asks for)
LINKS = {"setup": "Set up the hub", "invite": "Accept the invitation",
         "reset-password": "Choose a new password"}


def _next(raw: str) -> str:
    """Only a local path (never ``//host`` or a scheme): no open redirect."""
    return raw if raw.startswith("/") and not raw.startswith(("//", "/\\")) else "/"


def _signed_in(signed: auth_service.SignedIn, hub: Hub, target: str) -> Response:
    response = RedirectResponse(_next(target), status_code=303)
    set_session_cookie(response, signed, hub.settings)
    return response


@router.get("/sign-in", dependencies=[PUBLIC])
async def sign_in_page(request: Request) -> HTMLResponse:
    request.state.ui = True
    return render(request, "signin.html", next=_next(request.query_params.get("next", "/")),
                  email="", error=None)


@router.post("/sign-in", dependencies=[PUBLIC])
async def sign_in(request: Request, hub: HubDep) -> Response:
    form = await parse_form(request)
    email, target = first(form, "email")[:320], _next(first(form, "next", "/"))
    try:
        signed = await auth_service.sign_in(
            hub, email=email, password=first(form, "password")[:1024],
            address=request.client.host if request.client else "unknown")
    except HubError as exc:
        return render(request, "signin.html", status=exc.status, next=target, email=email,
                      error=exc)
    return _signed_in(signed, hub, target)


@router.post("/sign-out")
async def sign_out(request: Request, hub: HubDep, who: PageUser) -> Response:
    await read_form(request)
    if who.session_id:
        await auth_service.sign_out(hub, session_id=who.session_id)
    response = RedirectResponse("/sign-in", status_code=303)
    response.delete_cookie(csrf.COOKIE, path="/")
    return response


@router.post("/workspace")
async def switch(request: Request, hub: HubDep, who: PageUser) -> Response:
    form = await read_form(request)
    await auth_service.switch_workspace(hub, who=who,
                                        workspace_id=first(form, "workspace_id")[:64])
    return RedirectResponse("/", status_code=303)


def _link_page(request: Request, kind: str, status: int = 200,
               error: Any = None) -> HTMLResponse:
    request.state.ui = True
    return render(request, "link.html", status=status, kind=kind, title=LINKS[kind],
                  token=request.query_params.get("token", "")[:200], error=error)


async def _use_link(hub: Hub, kind: str, form: dict[str, list[str]]) -> Response:
    token, password = first(form, "token")[:200], first(form, "password")[:1024]
    if kind == "setup":
        signed = await auth_service.complete_setup(
            hub, token=token, email=first(form, "email")[:320], password=password,
            name=first(form, "name")[:200])
    elif kind == "invite":
        signed = await invites.accept(hub, token=token, password=password,
                                      name=first(form, "name")[:200])
    else:
        await invites.reset_password(hub, token=token, password=password)
        return RedirectResponse("/sign-in?reset=1", status_code=303)
    return _signed_in(signed, hub, "/")


def _link_routes(kind: str) -> None:
    async def show(request: Request) -> HTMLResponse:
        return _link_page(request, kind)

    async def use(request: Request, hub: HubDep) -> Response:
        form = await parse_form(request)
        try:
            return await _use_link(hub, kind, form)
        except HubError as exc:
            request.scope["query_string"] = f"token={first(form, 'token')[:200]}".encode()
            return _link_page(request, kind, exc.status, exc)

    router.add_api_route(f"/{kind}", show, methods=["GET"], dependencies=[PUBLIC])
    router.add_api_route(f"/{kind}", use, methods=["POST"], dependencies=[PUBLIC])


for _kind in LINKS:
    _link_routes(_kind)
