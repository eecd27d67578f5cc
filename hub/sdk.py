"""Public base classes that plugins subclass and register through the hooks.

A plugin never needs anything else from the core: it subclasses these, declares pydantic models
for its inputs, outputs, configuration and credentials, and registers the classes in a hookimpl.
The core validates every registration at startup (see ``hub.registry``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

if TYPE_CHECKING:
    import httpx

    from hub.tables.access import TablesAccess


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
        http: the hub's shared ``httpx.AsyncClient``, limited to the connector's ``hosts``.
        oauth: for OAuth2 connectors, an ``httpx.Auth`` adding the connection's bearer token
            and refreshing it before expiry or on a 401: ``ctx.http.get(url, auth=ctx.oauth)``.
        ai: for ``hub.AIAction`` steps, the ``hub.AIGateway`` (the only route to a model).
        tables: the run's workspace's data tables (``hub.tables.access.TablesAccess``).
        log: a logger for the step; never log secrets.
    """

    run_id: str
    step_id: str
    attempt: int
    idempotency_key: str
    workspace_id: str
    creds: Credentials | None = None
    http: httpx.AsyncClient | None = None
    oauth: httpx.Auth | None = None
    ai: Any = None
    tables: TablesAccess | None = None
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

    ``side_effects`` is ``True`` unless the action only computes its output from its input
    (no call outside the hub, nothing stored): each attempt of an action with side effects is
    recorded in the audit trail (connector, action, idempotency key, outcome).
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Input: ClassVar[type[BaseModel]] = Empty
    Output: ClassVar[type[BaseModel]] = Empty
    side_effects: ClassVar[bool] = True

    async def run(self, payload: Any, ctx: StepContext) -> Any:  # pragma: no cover - abstract
        """Execute the action; return an ``Output`` instance, a dict, or a ``StepResult``.

        Raise ``hub.StepError`` with a stable code to fail the step.
        """
        raise NotImplementedError


class OAuth2(BaseModel):
    """A connector's OAuth2 authorization-code flow; the hub adds PKCE (S256) and ``state``.

    The client id and secret are not here: the person connecting enters them (they become the
    connection's ``client_id``/``client_secret``), so each workspace uses its own OAuth app.
    """

    authorize_url: str = Field(description="The provider's authorization endpoint.")
    token_url: str = Field(description="The provider's token endpoint (code and refresh).")
    scopes: tuple[str, ...] = Field((), description="Scopes requested.")
    scope_separator: str = Field(" ", description="How scopes are joined (Slack: ``,``).")
    authorize_params: dict[str, str] = Field(
        default_factory=dict, description="Extra query parameters of the authorize URL, e.g. "
        "Google's ``access_type=offline`` and ``prompt=consent`` for a refresh token.")


class OAuth2Credentials(Credentials):
    """Credentials of an OAuth2 connector; the hub fills and refreshes the tokens."""

    client_id: str = Field(title="Client ID", description="The OAuth app's client id.")
    client_secret: SecretStr = Field(title="Client secret", description="The app's secret.")
    # Set by the hub, never typed by a person: ``readOnly`` tells forms to leave them out.
    access_token: SecretStr = Field(title="Access token", description="Set by the hub.",
                                    json_schema_extra={"readOnly": True})
    refresh_token: SecretStr | None = Field(None, title="Refresh token",
                                            description="Set by the hub.",
                                            json_schema_extra={"readOnly": True})
    expires_at: float | None = Field(None, title="Expires at",
                                     description="UNIX seconds; set by the hub.",
                                     json_schema_extra={"readOnly": True})


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
    #: Hosts its actions may call (``api.acme.test`` or ``*.acme.test``); empty: any public host.
    hosts: ClassVar[tuple[str, ...]] = ()
    #: Set (with ``Credentials`` subclassing ``OAuth2Credentials``) for OAuth2 connectors.
    oauth2: ClassVar[OAuth2 | None] = None
    triggers: ClassVar[tuple[type[PollTrigger], ...]] = ()
    #: True when steps may also run without a connection (``ctx.creds`` is then ``None``).
    connection_optional: ClassVar[bool] = False

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        """Raise ``InvalidCredentials`` or ``CannotConnect`` when ``creds`` do not work."""

    @classmethod
    def read_oauth2_token(cls, body: Any) -> dict[str, Any]:
        """The values to store from the provider's token response (code exchange or refresh).

        Return ``access_token`` and optionally ``refresh_token``, ``expires_in`` (seconds) and
        other fields of the connector's ``Credentials`` (unknown names are dropped). Raise
        ``ValueError`` with the provider's error text when the body reports an error, as
        some providers do with HTTP 200 (Slack's ``{"ok": false, "error": ...}``, GitHub's
        ``{"error": ..., "error_description": ...}``). The default reads the standard fields.
        """
        if not isinstance(body, dict):
            raise ValueError("the token response is not a JSON object")
        if not isinstance(body.get("access_token"), str):
            error = body.get("error_description") or body.get("error")
            raise ValueError(str(error)[:200] if error else "the token response has no "
                             "access_token")
        return {k: body[k] for k in ("access_token", "refresh_token", "expires_in") if k in body}


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
    request body with a constant-time comparison. ``headers`` keys are lower case. When a
    connection holds a previous secret (rotation), the hub calls ``verify`` once per secret.
    ``dedupe_key`` is the provider's default JMESPath over ``{headers, body, query}`` naming
    the delivery id; ``signature_headers`` lists headers the run must not see.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = Empty
    dedupe_key: ClassVar[str | None] = None

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:  # pragma: no cover - abstract
        """Return if the request is authentic; raise ``hub.Unauthorized`` otherwise."""
        raise NotImplementedError

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        """Lower-case names of the headers that carry the signature (hidden from runs)."""
        return frozenset()


@dataclass(frozen=True)
class PollResult:
    """What one poll returns: new ``items`` (oldest first) and the ``cursor`` to keep."""

    items: list[dict[str, Any]]
    cursor: Any = None


class PollTrigger:
    """A connector's poll trigger: the hub calls ``poll`` on an interval.

    Declares ``key``, ``title``, a ``Config`` model and ``dedupe_key`` (the item field that
    identifies an item, e.g. ``"id"``), and implements ``async def poll(config, creds, cursor,
    http)`` returning a ``PollResult``. ``cursor`` is what the previous poll returned (``None``
    the first time); the hub stores it and starts one run per item it has not seen before.
    Keep no per-call state on the instance.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    Config: ClassVar[type[BaseModel]] = Empty
    dedupe_key: ClassVar[str] = "id"

    async def poll(self, config: Any, creds: Credentials | None, cursor: Any,
                   http: httpx.AsyncClient) -> PollResult:  # pragma: no cover - abstract
        """Fetch items newer than ``cursor``."""
        raise NotImplementedError


class Model:
    """An AI model provider, configured per workspace as named model entries.

    Declares ``key``, ``title``, ``capabilities`` (``chat``, ``json``, ``embeddings``,
    ``classify``), ``tags`` (``on_prem``, ``eu`` ...), default prices per 1k input and output
    tokens, ``needs_key`` and a ``Config`` (model name, base URL ...), and implements
    ``async def call(request, *, config, api_key, http)`` returning a ``hub.ModelResult`` with
    its ``Usage``, or raising ``hub.ModelError`` with a stable code. The core enforces the
    timeout, routing, budgets and accounting around it. No per-call state on the instance.
    """

    key: ClassVar[str]
    title: ClassVar[str]
    description: ClassVar[str] = ""
    capabilities: ClassVar[frozenset[str]] = frozenset()
    tags: ClassVar[frozenset[str]] = frozenset()
    Config: ClassVar[type[BaseModel]] = Empty
    price_input_per_1k: ClassVar[float] = 0.0
    price_output_per_1k: ClassVar[float] = 0.0
    needs_key: ClassVar[bool] = True

    async def call(self, request: Any, *, config: Any, api_key: str | None,
                   http: httpx.AsyncClient) -> Any:  # pragma: no cover - abstract
        """Answer ``request`` (a ``hub.ModelRequest``) with a ``hub.ModelResult``."""
        raise NotImplementedError


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
