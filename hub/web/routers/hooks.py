"""``/hooks/{hook_id}``: the webhook intake as a lean ASGI route (no FastAPI request model,
no dependencies), plus ``/api/v1/zaps/{id}/trigger`` describing a zap's trigger."""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from fastapi import APIRouter
from starlette.types import ASGIApp, Receive, Scope, Send

from hub.intake import Answer, intake_of
from hub.intake import describe as service
from hub.intake.request import parse_query
from hub.web.bodies import BodyTimeout, BodyTooLarge, ClientGone, read_body
from hub.web.deps import HubDep, Viewer

router = APIRouter(prefix="/api/v1/zaps", tags=["zaps"])
log = logging.getLogger("hub.intake")
_JSON = b"application/json"
_PROBLEM = b"application/problem+json"
PREFIX = "/hooks/"


def _problem(status: int, code: str, detail: str, **headers: str) -> Answer:
    body = {"type": f"urn:zaphub:problem:{code}", "title": code.replace("_", " "),
            "status": status, "detail": detail, "code": code}
    return Answer(status, body, dict(headers), code)


NOT_FOUND = _problem(404, "not_found", "no such hook")


async def _send(send: Send, answer: Answer) -> None:
    body = answer.body
    ctype = _PROBLEM if answer.status >= 400 and isinstance(body, dict) and "code" in body \
        else _JSON
    if body is None:
        payload = b""
    elif isinstance(body, str):
        payload, ctype = body.encode(), b"text/plain; charset=utf-8"
    else:
        payload = json.dumps(body, separators=(",", ":")).encode()
    headers = [(b"content-length", str(len(payload)).encode())]
    if payload and "content-type" not in answer.headers:
        headers.append((b"content-type", ctype))
    headers += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


class HookEndpoint:
    """The ASGI app behind ``/hooks/{hook_id}``; every outcome is counted by reason."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        intake = intake_of(scope["app"].state.hub)
        try:
            answer = await self._answer(intake, scope, receive)
        except Exception:  # noqa: BLE001 - never a traceback to the caller; nothing was stored
            log.exception("webhook intake failed")
            answer = _problem(503, "intake_unavailable", "the hook could not store the event; "
                              "retry later", **{"retry-after": "1"})
        intake.count(answer.outcome)
        await _send(send, answer)

    async def _answer(self, intake: Any, scope: Scope, receive: Receive) -> Answer:
        hook = await intake.hook(scope["path_params"]["hook_id"])
        if hook is None:
            return NOT_FOUND
        method = scope["method"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        query = parse_query(scope["query_string"])
        if method == "GET" and hook.config.challenge and hook.config.challenge_param in query:
            return await _challenge(intake, hook, query)
        if method not in hook.config.methods:
            allowed = ", ".join(hook.config.methods)
            return _problem(405, "method_not_allowed", f"use {allowed}", allow=allowed)
        limited = await intake.limited(hook)
        if limited is not None:
            return limited
        body = await _read(receive, hook.max_body, intake.hub.settings.body_timeout,
                           headers.get("content-length", ""))
        if isinstance(body, Answer):
            return body
        return await intake.accept(hook, method=method, headers=headers, query=query, body=body)


async def _read(receive: Receive, limit: int, timeout: float, declared: str) -> Any:
    """The body (one buffer, never past ``limit``), or the answer to send instead."""
    try:
        return await read_body(receive, limit=limit, timeout=timeout,
                               declared=int(declared) if declared.isdigit() else None)
    except BodyTooLarge:
        return _problem(413, "payload_too_large", f"the body is larger than {limit} bytes",
                        connection="close")
    except BodyTimeout:
        return _problem(408, "request_timeout", f"the body did not arrive within {timeout:g}s",
                        connection="close")
    except ClientGone:
        return _problem(400, "client_disconnected", "the client left before the body ended")


async def _challenge(intake: Any, hook: Any, query: dict[str, Any]) -> Answer:
    """The GET echo handshake (``hub.challenge``); ``hub.verify_token`` must be the secret."""
    if hook.config.connection:
        given = str(query.get("hub.verify_token", "")).encode()
        if not any([hmac.compare_digest(given, s) for s in await intake.secrets_or_refuse(hook)]):
            return _problem(401, "bad_signature", "the verify token does not match")
    return Answer(200, str(query[hook.config.challenge_param]), {}, "challenge")


class HookShortcut:
    """ASGI middleware that answers ``/hooks/{hook_id}`` before the framework's own layers
    (routing, dependency and exception middleware): the hot path of the intake."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.endpoint = HookEndpoint()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(PREFIX) and "/" not in path[len(PREFIX):]:
            scope["path_params"] = {"hook_id": path[len(PREFIX):]}
            await self.endpoint(scope, receive, send)
        else:
            await self.app(scope, receive, send)


@router.get("/{zap_id}/trigger")
async def zap_trigger(zap_id: str, hub: HubDep, who: Viewer,
                      count: int = 5) -> dict[str, Any]:
    """The zap's trigger: its webhook URL, or its next fire times, or its poll state."""
    return await service.describe(hub, workspace_id=who.workspace_id, zap_id=zap_id,
                                  count=min(max(count, 1), 50))
