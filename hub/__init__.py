"""zaphub: an AI orchestration hub. This module re-exports the public plugin API."""

from hub.ai.contract import (
    AIAction,
    AIGateway,
    Message,
    ModelError,
    ModelRequest,
    ModelResult,
    Usage,
)
from hub.egress import EgressDenied, resolve_egress
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
from hub.guard import apply_redactions
from hub.hookspecs import hookimpl
from hub.providers import provider_error, retry_after
from hub.sdk import (
    Action,
    Connector,
    Credentials,
    Empty,
    Guardrail,
    Model,
    NoCredentials,
    OAuth2,
    OAuth2Credentials,
    PollResult,
    PollTrigger,
    SignatureScheme,
    Span,
    StepContext,
    StepResult,
    TriggerKind,
    Verdict,
    ZapCalls,
)

__version__ = "0.1.0"

__all__ = [
    "AIAction", "AIGateway", "Message", "ModelError", "ModelRequest", "ModelResult", "Usage",
    "Action", "BadRequest", "CannotConnect", "Conflict", "Connector", "Credentials", "Empty",
    "Forbidden", "Guardrail", "HubError", "InvalidCredentials", "Model", "NoCredentials",
    "NotFound", "OAuth2", "OAuth2Credentials", "PluginError", "PollResult", "PollTrigger",
    "SignatureScheme", "StepContext",
    "StepError", "StepResult",
    "Span", "TriggerKind", "Verdict", "Unauthorized", "__version__", "apply_redactions",
    "hookimpl",
    "EgressDenied", "provider_error", "resolve_egress", "retry_after",
    "ZapCalls",
]
