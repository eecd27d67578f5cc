"""Public base classes that plugins subclass and register through the hooks.

A plugin never needs anything else from the core: it subclasses these, declares pydantic models
for its inputs, outputs, configuration and credentials, and registers the classes in a hookimpl.
The core validates every registration at startup (see ``hub.registry``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ConfigDict

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


class Guardrail:
    """A check over an AI step's input or output. Declares ``key``, ``title`` and a ``Config``."""

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = Empty
