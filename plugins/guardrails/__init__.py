"""Built-in guardrails: personal data, secrets, prompt injection, output schema, blocklist,
URL allow-list and maximum length."""

from __future__ import annotations

from collections.abc import Callable

from hub import hookimpl

from .content import Blocklist, MaxLength, UrlAllowlist
from .injection import PromptInjection
from .keys import Secrets
from .pii import PersonalData
from .schema import JsonSchemaOutput

GUARDRAILS = (PersonalData, Secrets, PromptInjection, JsonSchemaOutput, Blocklist, UrlAllowlist,
              MaxLength)


@hookimpl
def register_guardrails(register: Callable[[type], None]) -> None:
    for guardrail in GUARDRAILS:
        register(guardrail)
