"""The model call contract: what an AI step asks a model and what comes back.

Public names (re-exported by ``hub``): ``ModelRequest``, ``ModelResult``, ``Usage``,
``ModelError``, ``AIAction`` and ``AIGateway``.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import BaseModel, Field

from hub.errors import StepError
from hub.sdk import Action

#: Stable codes a provider failure maps to; the gateway tries the next candidate on these.
ERROR_CODES = ("rate_limited", "timeout", "context_too_long", "auth_failed", "provider_error",
               "invalid_response")


class Message(BaseModel):
    role: Literal["system", "user", "assistant"]
    content: str


class ModelRequest(BaseModel):
    """One call: ``task`` is ``chat`` (messages → text), ``embed`` (texts → vectors) or
    ``classify`` (texts[0] + labels → label and scores)."""

    task: Literal["chat", "embed", "classify"] = "chat"
    messages: list[Message] = Field(default_factory=list)
    json_mode: bool = False
    max_tokens: int = Field(512, ge=1, le=200_000)
    temperature: float | None = Field(None, ge=0, le=2)
    texts: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)

    def prompt_chars(self) -> int:
        return sum(len(m.content) for m in self.messages) + sum(len(t) for t in self.texts)


class Usage(BaseModel):
    """Tokens, cost (in the price unit of the model entry), latency and provider request id."""

    input_tokens: int = 0
    output_tokens: int = 0
    cost: float = 0.0
    latency_ms: float = 0.0
    request_id: str | None = None


class ModelResult(BaseModel):
    text: str | None = None
    vectors: list[list[float]] | None = None
    label: str | None = None
    scores: dict[str, float] | None = None
    usage: Usage = Field(default_factory=Usage)
    #: filled by the gateway: the model entry that answered and the routing decision
    model: str | None = None
    decision: str | None = None


class ModelError(StepError):
    """A provider failure with one of ``ERROR_CODES``; ``retry_after`` in seconds if known."""

    def __init__(self, message: str, *, code: str, retry_after: float | None = None) -> None:
        retryable = code in ("rate_limited", "timeout", "provider_error", "invalid_response")
        extra = {"retry_after": retry_after} if retry_after is not None else None
        super().__init__(message, code=code, retryable=retryable, extra=extra)
        self.retry_after = retry_after


class AIGateway:
    """The only way an AI action reaches a model (``ctx.ai``).

    It applies the workspace's routing policy, budgets and accounting; the engine has already
    applied the guardrail policy to the step's input and applies it to the output.
    """

    async def call(self, request: ModelRequest, *, policy: str | None = None,
                   model: str | None = None) -> ModelResult:  # pragma: no cover - interface
        raise NotImplementedError


class AIAction(Action):
    """An action that talks to models. The engine governs every attempt of such an action:
    guardrails on its input before it runs and on its output before a later step sees it,
    and a ``ctx.ai`` gateway (the action's only route to a model)."""

    governed: ClassVar[bool] = True
