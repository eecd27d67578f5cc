"""Built-in ``webhook`` trigger kind, the ``webhook.respond`` action (the answer of a zap in
sync mode) and the ``webhook_secret`` connector that holds a signing secret."""

from __future__ import annotations

import base64
import hmac
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from hub import Action, Connector, Credentials, StepContext, TriggerKind, hookimpl

Method = Literal["POST", "PUT", "PATCH", "DELETE", "GET"]


class WebhookConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app: Literal["github", "slack", "stripe"] | None = Field(
        None, title="App", description="Shorthand for the app's webhooks: its signature scheme "
        "and dedupe key; GitHub `ping` and Slack `url_verification` are answered without a "
        "run.")
    methods: list[Method] = Field(["POST"], min_length=1, title="Methods",
                                  description="HTTP methods that start a run.")
    signature: str | None = Field(None, max_length=64, title="Signature scheme",
                                  description="A registered scheme, e.g. `github`, `stripe`.")
    signature_config: dict[str, Any] = Field(default_factory=dict, title="Scheme settings")
    connection: str | None = Field(None, max_length=200, title="Secret connection",
                                   description="A `webhook_secret` connection with the secret.")
    dedupe: str | None = Field(None, max_length=1000, title="Dedupe key",
                               description="JMESPath over {headers, body, query}; default: "
                               "the scheme's delivery id; empty string: no dedupe.")
    dedupe_window: float = Field(604800.0, ge=1, le=31_536_000, title="Dedupe window (s)")
    response: Literal["accepted", "sync"] = Field(
        "accepted", title="Response", description="`accepted`: 202 with the run id at once; "
        "`sync`: wait for the run and answer with its `webhook.respond` step (or result).")
    sync_timeout: float = Field(10.0, gt=0, le=120, title="Sync wait (s)",
                                description="Past this, a sync webhook answers 202.")
    max_body_bytes: int | None = Field(None, ge=1, le=67_108_864, title="Body limit (bytes)")
    rate_limit: float | None = Field(None, gt=0, le=1_000_000, title="Rate limit (req/s)")
    burst: int | None = Field(None, ge=1, le=1_000_000, title="Burst")
    challenge: bool = Field(False, title="Echo GET challenges",
                            description="Answer `GET ?hub.challenge=X` with X (no run).")
    challenge_param: str = Field("hub.challenge", max_length=100, title="Challenge parameter")


    @model_validator(mode="after")
    def _app(self) -> WebhookConfig:
        if self.app is not None:
            if self.signature not in (None, self.app):
                raise ValueError(f"app '{self.app}' verifies with the '{self.app}' signature "
                                 "scheme; leave `signature` out")
            self.signature = self.app
        return self

    def handshake(self, headers: dict[str, str], body: Any) -> dict[str, Any] | None:
        """The answer to an app's handshake delivery (no run is started), else ``None``.

        Called after the signature check. GitHub sends ``ping`` when a webhook is created.
        """
        if self.app == "github" and headers.get("x-github-event") == "ping":
            hook_id = body.get("hook_id") if isinstance(body, dict) else None
            return {"ok": True, "event": "ping", "hook_id": hook_id}
        return None


class Webhook(TriggerKind):
    key = "webhook"
    title = "Webhook"
    description = "Start a run when an app POSTs to /hooks/{hook_id} (verified, deduplicated)."
    Config = WebhookConfig


class RespondInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int = Field(200, ge=200, le=599, title="Status code")
    headers: dict[str, str] = Field(default_factory=dict, title="Headers")
    body: Any = Field(None, title="Body", description="A string is sent as text, else JSON.")


class Respond(Action):
    """The answer a sync-mode webhook sends back (like n8n's "Respond to Webhook")."""

    key = "respond"
    title = "Respond to webhook"
    description = "Sets the HTTP answer of a webhook zap in `sync` response mode."
    Input = RespondInput
    Output = RespondInput

    async def run(self, payload: RespondInput, ctx: StepContext) -> RespondInput:
        return payload


class WebhookActions(Connector):
    key = "webhook"
    title = "Webhook"
    description = "Steps for webhook zaps."
    actions = (Respond,)


class SecretCredentials(Credentials):
    secret: SecretStr = Field(title="Signing secret", description="The app's webhook secret.")
    previous_secret: SecretStr | None = Field(
        None, title="Previous secret", description="Still accepted while the app rotates.")


class SignInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    payload: str = Field(title="Payload", description="The exact text to sign.")
    algorithm: Literal["sha1", "sha256", "sha512"] = Field("sha256", title="Hash algorithm")
    encoding: Literal["hex", "base64"] = Field("hex", title="Encoding")


class SignOutput(BaseModel):
    signature: str


class Sign(Action):
    """HMAC a payload with the connection's secret, e.g. to call an app that checks it."""

    key = "sign"
    title = "Sign a payload"
    description = "HMAC of the payload with the connection's secret (hex or base64)."
    Input = SignInput
    Output = SignOutput

    async def run(self, payload: SignInput, ctx: StepContext) -> SignOutput:
        assert isinstance(ctx.creds, SecretCredentials)
        mac = hmac.new(ctx.creds.secret.get_secret_value().encode(),
                       payload.payload.encode(), payload.algorithm).digest()
        text = mac.hex() if payload.encoding == "hex" else base64.b64encode(mac).decode()
        return SignOutput(signature=text)


class WebhookSecret(Connector):
    key = "webhook_secret"
    title = "Webhook signing secret"
    description = "The shared secret a webhook zap verifies requests with."
    Credentials = SecretCredentials
    actions = (Sign,)


@hookimpl
def register_trigger_kinds(register) -> None:  # type: ignore[no-untyped-def]
    register(Webhook)


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(WebhookActions)
    register(WebhookSecret)
