"""The error half of the OpenAPI document: every ``/api/v1`` operation lists the
``application/problem+json`` answers it can give, all with the ``Problem`` schema.

Which statuses apply is derived from the route itself, so new routes are documented too:
401 everywhere (``hub.web.apiguard`` checks the token first); 403 where a role above viewer is
needed or a write may be refused by role; 404 where a path id is looked up; 400, 408, 413 and
422 where a body is read; 422 where parameters are validated; 409 on writes; 415 where the
body may be one of several media types; ``EXTRA`` adds what only the service knows.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import fastapi.routing
from fastapi.routing import APIRoute

from hub.permissions import PERMISSIONS, ROLES
from hub.web.problems import MEDIA_TYPE

PREFIX = "/api/v1"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
DESCRIPTIONS = {
    400: "Bad request: malformed JSON or YAML, nested too deeply, YAML anchors, bad values.",
    401: "Missing, unknown, expired or revoked bearer token (or session cookie).",
    403: "The caller's role (or the token's scope) lacks the permission this needs, or a "
         "signed-in request lacks its CSRF token.",
    404: "No such resource in the token's workspace.",
    408: "The request body did not arrive in time (HUB_BODY_TIMEOUT).",
    409: "Conflicts with the current state (a name taken, in use, wrong status ...).",
    413: "The request body is larger than HUB_API_MAX_BODY (or a resource's own limit).",
    415: "The body's media type is not accepted here.",
    422: "The request is well-formed but invalid; `errors` lists each problem with its path.",
    424: "The connector's credential check failed (invalid_auth, cannot_connect, unknown).",
}
#: statuses only the service layer knows about, by (method, path)
EXTRA: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/connections"): (424,),
    ("PATCH", "/api/v1/connections/{connection}"): (424,),
    ("POST", "/api/v1/connections/{connection}/test"): (424,),
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "An error (RFC 9457 problem details) with a stable `code`.",
    "required": ["type", "title", "status", "detail", "code"],
    "properties": {
        "type": {"type": "string", "description": "`urn:zaphub:problem:<code>`"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, for people."},
        "code": {"type": "string", "description": "Stable error code, e.g. `invalid_zap`."},
        "errors": {"type": "array", "description": "Each problem found, with its path.",
                   "items": {"type": "object", "required": ["path", "message"],
                             "properties": {"path": {"type": "string"},
                                            "message": {"type": "string"}}}},
    },
    "additionalProperties": True,
}


def permissions_of(dependant: Any) -> set[str]:
    """Permissions required by ``hub.web.deps.need`` dependencies anywhere below
    ``dependant``."""
    found = {getattr(dependant.call, "hub_permission", None)}
    for sub in dependant.dependencies:
        found |= permissions_of(sub)
    return {p for p in found if p}


def _api_routes(routes: list[Any]) -> Iterator[tuple[str, set[str], Any]]:
    """``(path, methods, dependant)`` of each API route; FastAPI >= 0.120 nests included
    routers lazily, so they are walked with its own iterator when it has one."""
    contexts = getattr(fastapi.routing, "iter_route_contexts", None)
    for route in contexts(routes) if contexts else routes:
        if isinstance(getattr(route, "original_route", route), APIRoute):
            yield route.path, set(route.methods or ()), route.dependant


def _statuses(path: str, method: str, dependant: Any, operation: dict[str, Any]) -> set[int]:
    codes = {401}
    if any(PERMISSIONS.get(p, set(ROLES)) != set(ROLES) for p in permissions_of(dependant)) or \
            method in WRITES:
        codes.add(403)
    params = operation.get("parameters") or []
    if any(p.get("in") == "path" for p in params):
        codes.add(404)
    if params:
        codes.add(422)
    if method in WITH_BODY:
        codes |= {400, 408, 413, 422}
    if method in WRITES:
        codes.add(409)
    content = (operation.get("requestBody") or {}).get("content") or {}
    if len(content) > 1:
        codes.add(415)
    return codes | set(EXTRA.get((method, path), ()))


def add_problems(schema: dict[str, Any], routes: list[Any]) -> None:
    """Add the ``Problem`` component and the error responses of every ``/api/v1`` operation."""
    schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    ref = {"$ref": "#/components/schemas/Problem"}
    for path, methods, dependant in _api_routes(routes):
        for method in methods if path.startswith(PREFIX + "/") else ():
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for status in sorted(_statuses(path, method, dependant, operation)):
                responses[str(status)] = {"description": DESCRIPTIONS[status],
                                          "content": {MEDIA_TYPE: {"schema": ref}}}
    for operations in schema["paths"].values():  # FastAPI's own 422 is a problem here too
        for operation in operations.values():
            if "422" in operation.get("responses", {}):
                operation["responses"]["422"] = {"description": DESCRIPTIONS[422],
                                                 "content": {MEDIA_TYPE: {"schema": ref}}}
    _drop_unused_validation_schemas(schema)


def _drop_unused_validation_schemas(schema: dict[str, Any]) -> None:
    """FastAPI's own 422 body (``HTTPValidationError``) is never sent: errors are problems."""
    text = repr(schema["paths"])
    components = schema["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        if f"#/components/schemas/{name}'" not in text:
            components.pop(name, None)
