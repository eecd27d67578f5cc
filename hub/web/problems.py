"""Errors as ``application/problem+json`` (RFC 9457) with a stable ``code``."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hub.errors import HubError

log = logging.getLogger("hub.web")
MEDIA_TYPE = "application/problem+json"
_HTTP_CODES = {401: "unauthorized", 403: "forbidden", 404: "not_found",
               405: "method_not_allowed", 413: "payload_too_large",
               415: "unsupported_media_type"}


def problem(status: int, code: str, detail: str, title: str | None = None,
            headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:zaphub:problem:{code}", "title": title or code.replace("_", " "),
            "status": status, "detail": detail, "code": code, **extra}
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _count(request: Request, code: str) -> None:
    hub = getattr(request.app.state, "hub", None)
    if hub is not None:
        hub.metrics.http_errors.labels(code=code).inc()


async def _hub_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HubError)
    _count(request, exc.code)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return problem(exc.status, exc.code, exc.message, exc.title, headers, **exc.extra)


async def _validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        _count(request, "malformed_json")
        return problem(400, "malformed_json", "the request body is not valid JSON")
    items = [{"path": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
              "message": e.get("msg", "invalid")} for e in errors]
    _count(request, "invalid_request")
    first = items[0] if items else {"path": "", "message": "invalid"}
    return problem(422, "invalid_request", f"{first['path']}: {first['message']}", errors=items)


async def _http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    _count(request, code)
    return problem(exc.status_code, code, str(exc.detail), headers=exc.headers)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.error("unhandled error on %s %s: %s", request.method, request.url.path,
              type(exc).__name__, exc_info=exc)
    _count(request, "internal_error")
    return problem(500, "internal_error", "the hub hit an unexpected error; see its log")


def install(app: FastAPI) -> None:
    app.add_exception_handler(HubError, _hub_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)
