"""Slack's credentials (bot token and/or incoming webhook) and Web API calls, with its
``{"ok": false, "error": ...}`` answers (HTTP 200) mapped to stable codes."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import Field, SecretStr, model_validator

from hub import OAuth2Credentials, StepError, provider_error

API = "https://slack.com/api"
WEBHOOK_PREFIX = "https://hooks.slack.com/"
AUTH_ERRORS = frozenset({"invalid_auth", "not_authed", "token_revoked", "token_expired",
                         "account_inactive", "no_permission", "missing_scope"})
DOWN_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable",
                         "request_timeout"})


class SlackCredentials(OAuth2Credentials):
    """A bot token (from "Connect with Slack" or pasted) and/or an incoming-webhook URL."""

    client_id: str = Field("", max_length=200, title="Client ID",
                           description="The Slack app's client id (Connect with Slack only).")
    client_secret: SecretStr | None = Field(  # type: ignore[assignment]
        None, title="Client secret", description="The Slack app's secret (Connect only).")
    access_token: SecretStr | None = Field(  # type: ignore[assignment]
        None, title="Bot token", description="`xoxb-...`: set by Connect with Slack, or paste "
        "it from the app's OAuth & Permissions page.")
    webhook_url: SecretStr | None = Field(
        None, title="Incoming webhook URL",
        description="`https://hooks.slack.com/services/...`, for slack.send_webhook.")

    @model_validator(mode="after")
    def _usable(self) -> SlackCredentials:
        if self.access_token is None and self.webhook_url is None:
            raise ValueError("give a bot token or an incoming webhook URL")
        if self.webhook_url is not None and \
                not self.webhook_url.get_secret_value().startswith(WEBHOOK_PREFIX):
            raise ValueError(f"the incoming webhook URL must start with {WEBHOOK_PREFIX}")
        return self


def slack_error(response: httpx.Response, body: dict[str, Any]) -> StepError:
    """A Slack ``ok: false`` answer (sent with HTTP 200) as a stable step error."""
    error = str(body.get("error") or "unknown_error")
    code = "invalid_auth" if error in AUTH_ERRORS else \
        "provider_unavailable" if error in DOWN_ERRORS else \
        "rate_limited" if error == "ratelimited" else "provider_error"
    needed = body.get("needed")
    message = f"{error} (needs scope {needed})" if needed else error
    return provider_error(response, provider="Slack", message=message, code=code)


async def call_api(http: httpx.AsyncClient, method: str, payload: dict[str, Any], *,
                   token: str | None = None, auth: httpx.Auth | None = None) -> dict[str, Any]:
    """POST a Web API method with a JSON body; the answer's body, or a ``StepError``."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        response = await http.post(f"{API}/{method}", json=payload, headers=headers,
                                   **({"auth": auth} if auth is not None else {}))
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider="Slack") from None
    if response.status_code != 200:
        raise provider_error(response, provider="Slack")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise StepError("Slack answered with a body that is not JSON", code="invalid_response",
                        retryable=False)
    if body.get("ok") is not True:
        raise slack_error(response, body)
    return body
