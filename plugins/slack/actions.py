"""``slack.post_message`` (``chat.postMessage``) and ``slack.send_webhook``."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub import Action, StepContext, StepError, provider_error

from .api import SlackCredentials, call_api


class _Message(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field("", max_length=40000, title="Text",
                      description="Message text (mrkdwn); the notification text with blocks.",
                      json_schema_extra={"format": "multiline"})
    blocks: list[dict[str, Any]] | None = Field(None, max_length=50, title="Blocks",
                                                description="Block Kit blocks.")

    @model_validator(mode="after")
    def _something(self) -> _Message:
        if not self.text and not self.blocks:
            raise ValueError("give a text or blocks")
        return self


class PostMessageInput(_Message):
    channel: str = Field(title="Channel", min_length=1, max_length=200,
                         description="Channel id (C0123...) or name (#general).",
                         examples=["#support"])
    thread_ts: str | None = Field(None, max_length=50, title="Thread",
                                  description="The parent message's `ts` to reply in a thread.")
    reply_broadcast: bool = Field(False, title="Also send to the channel")
    unfurl_links: bool | None = Field(None, title="Unfurl links")


class PostMessageOutput(BaseModel):
    channel: str = Field(title="Channel id")
    ts: str = Field(title="Message ts", description="Use it as `thread_ts` to reply.")
    thread_ts: str | None = Field(None, title="Thread")


def _creds(ctx: StepContext) -> SlackCredentials:
    if not isinstance(ctx.creds, SlackCredentials) or ctx.http is None:
        raise StepError("the step needs a slack connection", code="no_connection",
                        retryable=False)
    return ctx.creds


class PostMessage(Action):
    key = "post_message"
    title = "Post a message"
    description = "chat.postMessage with the connection's bot token."
    Input = PostMessageInput
    Output = PostMessageOutput

    async def run(self, payload: PostMessageInput, ctx: StepContext) -> PostMessageOutput:
        creds = _creds(ctx)
        if creds.access_token is None:
            raise StepError("the slack connection has no bot token (only a webhook URL)",
                            code="invalid_auth", retryable=False)
        body = payload.model_dump(exclude_none=True)
        if not body.get("reply_broadcast"):
            body.pop("reply_broadcast", None)
        token = None if ctx.oauth is not None else creds.access_token.get_secret_value()
        answer = await call_api(ctx.http, "chat.postMessage", body,  # type: ignore[arg-type]
                                token=token, auth=ctx.oauth)
        message = answer.get("message") or {}
        return PostMessageOutput(channel=str(answer.get("channel", payload.channel)),
                                 ts=str(answer.get("ts", "")),
                                 thread_ts=message.get("thread_ts"))


class SendWebhookOutput(BaseModel):
    ok: bool = Field(title="Delivered")


class SendWebhook(Action):
    key = "send_webhook"
    title = "Send to an incoming webhook"
    description = "Posts to the connection's incoming-webhook URL (its channel is fixed)."
    Input = _Message
    Output = SendWebhookOutput

    async def run(self, payload: _Message, ctx: StepContext) -> SendWebhookOutput:
        creds = _creds(ctx)
        if creds.webhook_url is None:
            raise StepError("the slack connection has no incoming webhook URL",
                            code="invalid_auth", retryable=False)
        try:
            response = await ctx.http.post(  # type: ignore[union-attr]
                creds.webhook_url.get_secret_value(), json=payload.model_dump(exclude_none=True))
        except httpx.HTTPError as exc:
            raise provider_error(exc, provider="Slack") from None
        if response.status_code == 200:
            return SendWebhookOutput(ok=True)
        # Webhooks answer errors as text: 403 invalid_token / action_prohibited, 404
        # no_service (a removed webhook), 410 channel_is_archived, 400 invalid_payload.
        code = "invalid_auth" if response.text.strip() in ("invalid_token", "no_service") \
            else None
        raise provider_error(response, provider="Slack", code=code)
