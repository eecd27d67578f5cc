"""Test plugin for the zap compiler tests: a connector that needs a connection.

``zf.send`` has a strict input (``extra="forbid"``) with an aliased field; ``zf.loose``
accepts any input.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from hub import Action, Connector, Credentials, StepContext, TriggerKind, hookimpl


class ZfCredentials(Credentials):
    api_key: SecretStr = Field(title="API key", description="Any value; never checked.")


class SendInput(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    to: str = Field(title="To", description="Recipient.")
    body: str = Field("", title="Body", description="Message text.")
    reply_to: str | None = Field(None, alias="replyTo", title="Reply to",
                                 description="Aliased field.")


class SendOutput(BaseModel):
    sent: bool = Field(title="Sent")


class Send(Action):
    key = "send"
    title = "Send a message"
    Input = SendInput
    Output = SendOutput

    async def run(self, payload: SendInput, ctx: StepContext) -> dict[str, Any]:
        return {"sent": True}


class LooseInput(BaseModel):
    model_config = ConfigDict(extra="allow")


class Loose(Action):
    key = "loose"
    title = "Accept anything"
    Input = LooseInput
    Output = LooseInput

    async def run(self, payload: LooseInput, ctx: StepContext) -> dict[str, Any]:
        return payload.model_dump()


class Zf(Connector):
    key = "zf"
    title = "Zap fixtures"
    description = "Needs a connection."
    Credentials = ZfCredentials
    actions = (Send, Loose)


class EveryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int = Field(ge=1, le=60, title="Minutes", description="Interval.")


class Every(TriggerKind):
    key = "every"
    title = "Every N minutes"
    Config = EveryConfig


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(Zf)


@hookimpl
def register_trigger_kinds(register) -> None:  # type: ignore[no-untyped-def]
    register(Every)
