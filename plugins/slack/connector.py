"""The ``slack`` connector: the OAuth v2 install (bot scopes) and the check."""

from __future__ import annotations

from typing import Any

import httpx

from hub import CannotConnect, Connector, Credentials, InvalidCredentials, OAuth2, StepError

from .actions import PostMessage, SendWebhook
from .api import API, WEBHOOK_PREFIX, SlackCredentials, call_api


class Slack(Connector):
    key = "slack"
    title = "Slack"
    description = "Post messages with a bot token or an incoming webhook."
    Credentials = SlackCredentials
    hosts = ("slack.com", "hooks.slack.com")
    actions = (PostMessage, SendWebhook)
    oauth2 = OAuth2(authorize_url="https://slack.com/oauth/v2/authorize",
                    token_url=f"{API}/oauth.v2.access",
                    scopes=("chat:write", "chat:write.public"), scope_separator=",")

    @classmethod
    def read_oauth2_token(cls, body: Any) -> dict[str, Any]:
        """``oauth.v2.access`` answers 200 with ``ok: false`` on errors; the bot token is at
        the top level (the installing user's token, under ``authed_user``, is not kept)."""
        if isinstance(body, dict) and body.get("ok") is False:
            raise ValueError(str(body.get("error") or "unknown_error"))
        values = super().read_oauth2_token(body)
        hook = (body.get("incoming_webhook") or {}).get("url")
        if isinstance(hook, str) and hook.startswith(WEBHOOK_PREFIX):
            values["webhook_url"] = hook
        return values

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        """``auth.test`` for a bot token; a webhook-only connection is checked by its form."""
        if not isinstance(creds, SlackCredentials):
            raise InvalidCredentials("expected Slack credentials")
        if creds.access_token is None:
            return
        try:
            await call_api(http, "auth.test", {}, token=creds.access_token.get_secret_value())
        except StepError as exc:
            if exc.code == "invalid_auth":
                raise InvalidCredentials(exc.message) from None
            raise CannotConnect(exc.message) from None
