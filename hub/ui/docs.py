"""``/docs`` (Swagger UI) and ``/redoc`` without a CDN: the assets come from the
``fastapi-offline`` package and are served by the hub itself."""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from hub.web.deps import PUBLIC

ASSETS = "/ui/docs-assets"
#: Nothing leaves the hub, not even ReDoc's "powered by" logo from its CDN (the page
#: initialisers are inline scripts, so those stay allowed).
OFFLINE = {"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
           "style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
           "worker-src 'self' blob:; frame-ancestors 'none'"}


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers.update(OFFLINE)
    return page


def install(app: FastAPI) -> None:
    app.mount(ASSETS, StaticFiles(directory=str(files("fastapi_offline") / "static")),
              name="docs-assets")

    @app.get("/docs", include_in_schema=False, dependencies=[PUBLIC])
    async def swagger() -> HTMLResponse:
        return _offline(get_swagger_ui_html(
            openapi_url="/openapi.json", title="zaphub API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon.png"))

    @app.get("/redoc", include_in_schema=False, dependencies=[PUBLIC])
    async def redoc() -> HTMLResponse:
        return _offline(get_redoc_html(
            openapi_url="/openapi.json", title="zaphub API",
            redoc_js_url=f"{ASSETS}/redoc.standalone.js", with_google_fonts=False,
            redoc_favicon_url=f"{ASSETS}/favicon.png"))
