"""Jinja2 rendering for the web app's pages: one environment per process, autoescaped."""

from __future__ import annotations

import json
import time
from functools import cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from hub import __version__


def _when(ts: float | None) -> str:
    if not ts:
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts))


def _pretty(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str, ensure_ascii=False)


@cache
def environment() -> Environment:
    env = Environment(loader=PackageLoader("hub.ui", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["when"] = _when
    env.filters["pretty"] = _pretty
    env.globals["version"] = __version__
    return env


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` with the request's principal and CSRF token in its context."""
    page = getattr(request.state, "page", None)
    html = environment().get_template(template).render(
        request=request, page=page, **context)
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


#: Pages only load the hub's own files: no inline scripts, no third-party origins.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                               "style-src 'self'; script-src 'self'; frame-ancestors 'none'; "
                               "form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
