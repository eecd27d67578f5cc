"""The web app: server-rendered pages served by ``hub serve`` itself (issue 13).

Jinja2 templates, forms that work as plain HTML, one stylesheet and one small script of the
hub's own (no CDN, no third-party front-end code, no build step). Page handlers call the
service functions in ``hub.services`` directly, as the API routers do.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from hub.errors import HubError, Unauthorized
from hub.ui import docs
from hub.ui.auth import SignInRequired
from hub.ui.pages import (
    account,
    admin,
    admin_people,
    approvals,
    connections,
    home,
    run_detail,
    runs,
    tables,
    zap_extras,
    zaps,
)
from hub.ui.render import render


def _is_page(request: Request) -> bool:
    """Whether a browser asked for a page: its errors are pages too. Other clients (scripts,
    API tools) get ``application/problem+json`` as from the API."""
    if "text/html" not in request.headers.get("accept", ""):
        return False
    if getattr(request.state, "ui", False):
        return True
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    return getattr(endpoint, "__module__", "").startswith("hub.ui.pages")


def install(app: FastAPI) -> None:
    """Mount the pages, their static files and the offline API docs on ``app``."""
    app.mount("/ui/static", StaticFiles(directory=str(files("hub.ui") / "static")),
              name="ui-static")
    docs.install(app)
    for module in (account, home, zap_extras, zaps, runs, run_detail, approvals, connections,
                   admin, admin_people, tables):
        app.include_router(module.router)
    api_handler = app.exception_handlers[HubError]

    async def hub_error(request: Request, exc: Exception) -> Response:
        if not (_is_page(request) and isinstance(exc, HubError)):
            return await api_handler(request, exc)
        return render(request, "error.html", status=exc.status, title=exc.title,
                      message=exc.message, code=exc.code)

    async def sign_in(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        if "text/html" not in request.headers.get("accept", ""):
            return await api_handler(request, Unauthorized(
                "sign in, or send an API token", code="invalid_token"))
        return RedirectResponse(exc.location, status_code=303)

    invalid_handler = app.exception_handlers[RequestValidationError]

    async def invalid(request: Request, exc: Exception) -> Response:
        if not (_is_page(request) and isinstance(exc, RequestValidationError)):
            return await invalid_handler(request, exc)
        where = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) for e in exc.errors())
        return render(request, "error.html", status=422, title="Invalid request",
                      message=f"These values are not valid here: {where}",
                      code="invalid_request")

    app.add_exception_handler(HubError, hub_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(SignInRequired, sign_in)
