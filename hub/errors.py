"""Errors with stable codes.

Every error the hub reports to a user carries a ``code`` that never changes once released;
the web layer turns them into ``application/problem+json`` and the CLI into a one-line message
and a non-zero exit.
"""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """Base class for errors with a stable ``code`` and an HTTP status."""

    code = "hub_error"
    status = 400
    title = "Request failed"

    def __init__(self, message: str, *, code: str | None = None, status: int | None = None,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra or {}


class NotFound(HubError):
    code = "not_found"
    status = 404
    title = "Not found"


class Conflict(HubError):
    code = "conflict"
    status = 409
    title = "Conflict"


class BadRequest(HubError):
    code = "bad_request"
    status = 400
    title = "Bad request"


class Unauthorized(HubError):
    code = "unauthorized"
    status = 401
    title = "Unauthorized"


class Forbidden(HubError):
    code = "forbidden"
    status = 403
    title = "Forbidden"


class ZapInvalid(HubError):
    """A zap definition failed validation; ``errors`` lists ``{path, message}`` items."""

    code = "invalid_zap"
    status = 422
    title = "Invalid zap"

    def __init__(self, errors: list[dict[str, str]]) -> None:
        first = errors[0] if errors else {"path": "", "message": "invalid"}
        summary = f"{first['path']}: {first['message']}" if first["path"] else first["message"]
        if len(errors) > 1:
            summary += f" (and {len(errors) - 1} more)"
        super().__init__(summary, extra={"errors": errors})
        self.errors = errors


class PluginError(HubError):
    """A plugin broke a registration rule; the message always names the plugin."""

    code = "plugin_error"
    status = 500
    title = "Plugin error"


class StepError(HubError):
    """Raised by actions to fail a step with a stable code.

    ``retryable`` tells the engine whether the step's retry policy applies.
    """

    code = "step_failed"

    def __init__(self, message: str, *, code: str | None = None, retryable: bool = True,
                 extra: dict[str, Any] | None = None) -> None:
        super().__init__(message, code=code, extra=extra)
        self.retryable = retryable


class InvalidCredentials(HubError):
    """Raised by ``Connector.check`` when the credentials are rejected."""

    code = "invalid_auth"


class CannotConnect(HubError):
    """Raised by ``Connector.check`` when the service cannot be reached."""

    code = "cannot_connect"
