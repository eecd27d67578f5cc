"""Public base classes that plugins subclass and register through the hooks.

A plugin never needs anything else from the core: it subclasses these, declares pydantic models
for its inputs, outputs, configuration and credentials, and registers the classes in a hookimpl.
The core validates every registration at startup (see ``hub.registry``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    import httpx


class Credentials(BaseModel):
    """A connector's credentials. Secret fields must be ``SecretStr``."""

    model_config = ConfigDict(extra="forbid")


class NoCredentials(Credentials):
    """Marker for connectors that need no connection."""


class Empty(BaseModel):
    """An input, output or config model with no fields."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class StepContext:
    """What an action receives besides its input, one instance per step attempt.

    Attributes:
        run_id: the run being executed.
        step_id: the step's id inside the zap.
        attempt: 1 for the first attempt, then 2, 3 ... for retries and re-runs.
        idempotency_key: ``<run_id>:<step_id>``, stable across retries and resumes. Pass it to
            APIs that accept one so a retried step never double-sends.
        workspace_id: the workspace the run belongs to.
        creds: the step's connection credentials (``None`` when the connector needs none).
        http: the hub's shared ``httpx.AsyncClient``.
        log: a logger for the step; never log secrets.
    """

    run_id: str
    step_id: str
    attempt: int
    idempotency_key: str
    workspace_id: str
    creds: Credentials | None = None
    http: httpx.AsyncClient | None = None
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("hub.step"))


@dataclass(frozen=True)
class StepResult:
    """An action's output plus an optional control signal for the engine.

    ``stop`` ends the run after this step with the given status (only ``"filtered"`` today).
    Actions normally return their ``Output`` model; return a ``StepResult`` to steer the run.
    """

    output: Any
    stop: str | None = None


class Action:
    """One operation of a connector, used in a zap as ``<connector>.<action>``.

    Subclasses declare ``key`` (lowercase identifier), ``title``, optionally ``description``,
    an ``Input`` and an ``Output`` pydantic model, and implement ``async def run``. Keep no
    per-call state on the instance: one instance serves every run.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Input: ClassVar[type[BaseModel]] = Empty
    Output: ClassVar[type[BaseModel]] = Empty

    async def run(self, payload: Any, ctx: StepContext) -> Any:  # pragma: no cover - abstract
        """Execute the action; return an ``Output`` instance, a dict, or a ``StepResult``.

        Raise ``hub.StepError`` with a stable code to fail the step.
        """
        raise NotImplementedError


class Connector:
    """An integration: its credentials model, its actions and (later) its triggers.

    Subclasses declare ``key``, ``title``, ``description``, ``Credentials`` (a ``Credentials``
    subclass, or ``NoCredentials``) and ``actions`` (a tuple of ``Action`` subclasses), and may
    override ``check`` to verify credentials before a connection is saved.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Credentials: ClassVar[type[Credentials]] = NoCredentials
    actions: ClassVar[tuple[type[Action], ...]] = ()

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        """Raise ``InvalidCredentials`` or ``CannotConnect`` when ``creds`` do not work."""


class TriggerKind:
    """A kind of trigger (``manual``, ``webhook``, ``schedule``, ``poll`` ...).

    Declares ``key``, ``title``, ``description`` and a ``Config`` model validated when a zap
    is saved.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = Empty


class SignatureScheme:
    """A webhook signature scheme (GitHub, Stripe, Slack ...), chosen per zap.

    Declares ``key``, ``title`` and a ``Config`` model, and implements ``verify`` over the raw
    request body with a constant-time comparison.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = Empty

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:  # pragma: no cover - abstract
        """Return if the request is authentic; raise ``hub.Unauthorized`` otherwise."""
        raise NotImplementedError


class Model:
    """An AI model provider. Declares ``key``, ``title``, ``capabilities`` and a ``Config``."""

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    tags: ClassVar[frozenset[str]] = frozenset()
    Config: ClassVar[type[BaseModel]] = Empty


class Span(BaseModel):
    """A matched region of the checked text: ``text[start:end]`` is of ``category``.

    ``label`` names the placeholder used when redacting (``EMAIL`` gives ``[EMAIL_1]``).
    A span never carries the matched text itself.
    """

    start: int = Field(ge=0)
    end: int = Field(ge=0)
    category: str
    label: str


class Verdict(BaseModel):
    """A guardrail's answer for one text.

    ``outcome``: ``pass`` (nothing found), ``redact`` (``spans`` should be replaced by
    placeholders) or ``block`` (the step must not go on). ``categories`` and ``reasons`` explain
    the outcome for people and for routing policy conditions; they never contain the matched
    secret or personal data itself.
    """

    outcome: Literal["pass", "redact", "block"] = "pass"
    categories: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    spans: list[Span] = Field(default_factory=list)


class Guardrail:
    """A check over an AI step's input or output text.

    Declares ``key``, ``title``, ``description``, a ``Config`` model and the ``stages`` it
    applies to (``input``, ``output``), and implements ``async def check``. The workspace's
    guardrail policy decides the mode (block, redact, flag); the guardrail only reports what
    it found. It must not keep per-call state on the instance, must not log the text, and
    should be fast (the built-ins aim at <= 1 ms per KB).
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = Empty
    stages: ClassVar[frozenset[str]] = frozenset({"input", "output"})

    async def check(self, text: str, *, config: Any, stage: str) -> Verdict:  # pragma: no cover
        """Return a ``Verdict`` for ``text`` at ``stage`` (``input`` or ``output``)."""
        raise NotImplementedError
