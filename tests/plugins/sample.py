"""A test plugin that uses every hook: one object of each kind, plus lifecycle observers.

Register an instance of ``Recorder`` (not the module) so each test gets its own event lists.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field, SecretStr

from hub import (
    Action,
    Connector,
    Credentials,
    Guardrail,
    Model,
    ModelResult,
    SignatureScheme,
    StepContext,
    TriggerKind,
    Unauthorized,
    Verdict,
    hookimpl,
)
from hub.secrets import SecretStore
from hub.settings import Settings


class PingCredentials(Credentials):
    api_key: SecretStr = Field(title="API key", description="Any value works.")


class PingInput(BaseModel):
    text: str = Field("ping", title="Text", description="Echoed back.")


class PingOutput(BaseModel):
    text: str


class Ping(Action):
    key = "ping"
    title = "Ping"
    Input = PingInput
    Output = PingOutput

    async def run(self, payload: PingInput, ctx: StepContext) -> PingOutput:
        return PingOutput(text=payload.text)


class SampleConnector(Connector):
    key = "sample"
    title = "Sample"
    description = "A connector registered by the test plugin."
    Credentials = PingCredentials
    actions = (Ping,)


class SampleModel(Model):
    key = "sample_model"
    title = "Sample model"
    capabilities = frozenset({"chat"})

    async def call(self, request: Any, *, config: Any, api_key: str | None,
                   http: Any) -> ModelResult:
        return ModelResult(text="sample")


class SampleGuardrail(Guardrail):
    key = "sample_guardrail"
    title = "Sample guardrail"

    async def check(self, text: str, *, config: Any, stage: str) -> Verdict:
        return Verdict()


class SampleTrigger(TriggerKind):
    key = "sample_trigger"
    title = "Sample trigger"


class SampleSignature(SignatureScheme):
    key = "sample_signature"
    title = "Sample signature"

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        if headers.get("x-sample") != secret.decode():
            raise Unauthorized("bad signature")


class FixedStore(SecretStore):
    """A secret store holding one constant key (tests only)."""

    KEY = b"k" * 32

    def current_key_id(self) -> str:
        return "fixed"

    def get_key(self, key_id: str) -> bytes:
        if key_id != "fixed":
            raise KeyError(key_id)
        return self.KEY


class Recorder:
    """Registers one object per discovery hook and records lifecycle hook calls."""

    def __init__(self, *, provide_store: bool = False) -> None:
        self.calls: list[str] = []
        self.events: list[dict[str, Any]] = []
        self.provide_store = provide_store

    @hookimpl
    def register_connectors(self, register: Callable[[type], None]) -> None:
        register(SampleConnector)

    @hookimpl
    def register_models(self, register: Callable[[type], None]) -> None:
        register(SampleModel)

    @hookimpl
    def register_guardrails(self, register: Callable[[type], None]) -> None:
        register(SampleGuardrail)

    @hookimpl
    def register_trigger_kinds(self, register: Callable[[type], None]) -> None:
        register(SampleTrigger)

    @hookimpl
    def register_signature_schemes(self, register: Callable[[type], None]) -> None:
        register(SampleSignature)

    @hookimpl
    def startup(self, hub: Any) -> None:
        self.calls.append("startup")

    @hookimpl
    def shutdown(self, hub: Any) -> None:
        self.calls.append("shutdown")

    @hookimpl
    def track_event(self, hub: Any, event: dict[str, Any]) -> None:
        self.events.append(dict(event))

    @hookimpl
    def secret_store(self, settings: Settings) -> SecretStore | None:
        return FixedStore() if self.provide_store else None
