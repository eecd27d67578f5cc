"""zaphub: an AI orchestration hub. This module re-exports the public plugin API.

The names load on first use (PEP 562), so ``import hub`` and the ``hub`` command stay fast:
``from hub import Action`` imports the SDK then, not every command that never needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS: dict[str, tuple[str, ...]] = {
    "hub.ai.contract": ("AIAction", "AIGateway", "Message", "ModelError", "ModelRequest",
                        "ModelResult", "Usage"),
    "hub.egress": ("EgressDenied", "resolve_egress"),
    "hub.errors": ("BadRequest", "CannotConnect", "Conflict", "Forbidden", "HubError",
                   "InvalidCredentials", "NotFound", "PluginError", "StepError",
                   "Unauthorized"),
    "hub.guard": ("apply_redactions",),
    "hub.hookspecs": ("hookimpl",),
    "hub.providers": ("provider_error", "retry_after"),
    "hub.sdk": ("Action", "Connector", "Credentials", "Empty", "Guardrail", "Model",
                "NoCredentials", "OAuth2", "OAuth2Credentials", "PollResult", "PollTrigger",
                "SignatureScheme", "Span", "StepContext", "StepResult", "TriggerKind",
                "Verdict", "ZapCalls"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}

__all__ = sorted([*_MODULE_OF, "__version__"])


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULE_OF})


if TYPE_CHECKING:  # type checkers see the names as if imported here
    from hub.ai.contract import (  # noqa: F401
        AIAction,
        AIGateway,
        Message,
        ModelError,
        ModelRequest,
        ModelResult,
        Usage,
    )
    from hub.egress import EgressDenied, resolve_egress  # noqa: F401
    from hub.errors import (  # noqa: F401
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
    from hub.guard import apply_redactions  # noqa: F401
    from hub.hookspecs import hookimpl  # noqa: F401
    from hub.providers import provider_error, retry_after  # noqa: F401
    from hub.sdk import (  # noqa: F401
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
