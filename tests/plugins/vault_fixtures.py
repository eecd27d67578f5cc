"""Test plugin for the vault tests: the ``vlt`` connector whose action echoes its API key.

``check`` rejects the key ``BAD_KEY`` (``invalid_auth``), cannot reach the region ``down``
(``cannot_connect``) and crashes on the region ``boom`` (``unknown``, with the key in the
exception text, which must come back masked). The ``echo`` action logs and returns the key,
as a careless API might, so tests can prove it is masked before storage and in logs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub import (
    Action,
    CannotConnect,
    Connector,
    Credentials,
    InvalidCredentials,
    StepContext,
    StepError,
    hookimpl,
)

BAD_KEY = "sk-bad-0000000000"
#: Steps with ``gate: true`` wait for this event (a test creates it in its own loop).
GATE: asyncio.Event | None = None


class VaultCredentials(Credentials):
    api_key: SecretStr = Field(title="API key", description="The service's API key.")
    region: str = Field(title="Region", description="Where the account lives.")


class EchoInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field("", title="Text", description="Returned with the key.")
    fail: bool = Field(False, title="Fail", description="Fail with the key in the message.")
    gate: bool = Field(False, title="Gate", description="Wait for the test's GATE event.")


class EchoOutput(BaseModel):
    echoed_key: str
    region: str
    text: str
    headers: dict[str, Any]


class EchoKey(Action):
    key = "echo"
    title = "Echo the API key (vault tests)"
    Input = EchoInput
    Output = EchoOutput

    async def run(self, payload: EchoInput, ctx: StepContext) -> EchoOutput:
        assert isinstance(ctx.creds, VaultCredentials)
        key = ctx.creds.api_key.get_secret_value()
        ctx.log.warning("calling the service with key %s", key)
        if payload.gate and GATE is not None:
            await GATE.wait()
        if payload.fail:
            raise StepError(f"service said: bad token {key}", code="service_error",
                            retryable=False)
        return EchoOutput(echoed_key=key, region=ctx.creds.region, text=payload.text,
                          headers={"Authorization": f"Bearer {key}"})


class Vlt(Connector):
    key = "vlt"
    title = "Vault test connector"
    Credentials = VaultCredentials
    actions = (EchoKey,)

    async def check(self, creds: Credentials, http: Any) -> None:
        assert isinstance(creds, VaultCredentials)
        if creds.api_key.get_secret_value() == BAD_KEY:
            raise InvalidCredentials("the service rejected the API key")
        if creds.region == "down":
            raise CannotConnect("the service's region 'down' did not answer")
        if creds.region == "boom":
            raise RuntimeError(f"crashed while using {creds.api_key.get_secret_value()}")


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(Vlt)
