"""zaphub: an AI orchestration hub. This module re-exports the public plugin API."""

from hub.errors import (
    BadRequest,
    CannotConnect,
    Conflict,
    Forbidden,
    HubError,
    InvalidCredentials,
    NotFound,
    PluginError,
    StepError,
    Unauthorized,
)
from hub.hookspecs import hookimpl
from hub.sdk import (
    Action,
    Connector,
    Credentials,
    Empty,
    Guardrail,
    Model,
    NoCredentials,
    SignatureScheme,
    Span,
    StepContext,
    StepResult,
    TriggerKind,
    Verdict,
)

__version__ = "0.1.0"

__all__ = [
    "Action", "BadRequest", "CannotConnect", "Conflict", "Connector", "Credentials", "Empty",
    "Forbidden", "Guardrail", "HubError", "InvalidCredentials", "Model", "NoCredentials",
    "NotFound", "PluginError", "SignatureScheme", "StepContext", "StepError", "StepResult",
    "Span", "TriggerKind", "Verdict", "Unauthorized", "__version__", "hookimpl",
]
