"""GitHub credentials and REST calls, with GitHub's errors (``{"message", "documentation_url"}``,
primary and secondary rate limits) mapped to stable codes."""

from __future__ import annotations

import time
from typing import Any

import httpx
from pydantic import Field, SecretStr

from hub import OAuth2Credentials, StepContext, StepError, provider_error

API = "https://api.github.com"
API_VERSION = "2022-11-28"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION}


class GitHubCredentials(OAuth2Credentials):
    """A token: a personal access token pasted here, or set by connecting an OAuth app."""

    client_id: str = Field("", max_length=200, title="Client ID",
                           description="The OAuth app's client id (OAuth connections only).")
    client_secret: SecretStr | None = Field(  # type: ignore[assignment]
        None, title="Client secret", description="The OAuth app's secret (OAuth only).")
    access_token: SecretStr = Field(
        title="Token", description="A fine-grained or classic personal access token (Issues: "
        "read and write), or set by the hub when connecting an OAuth app.")


def _wait(response: httpx.Response) -> float | None:
    """Seconds until GitHub's primary rate limit resets, when it is exhausted."""
    reset = response.headers.get("x-ratelimit-reset", "")
    if response.headers.get("x-ratelimit-remaining") == "0" and reset.isdigit():
        return max(1.0, float(reset) - time.time())
    return None


def github_error(response: httpx.Response) -> StepError:
    wait = _wait(response)
    limited = response.status_code == 429 or wait is not None or (
        response.status_code == 403 and "retry-after" in response.headers)
    message = None
    try:
        body = response.json()
        details = [e.get("message") or f"{e.get('field')} {e.get('code')}"
                   for e in body.get("errors") or [] if isinstance(e, dict)]
        if details:
            message = f"{body.get('message')}: {'; '.join(map(str, details))}"
    except (ValueError, AttributeError):
        pass
    return provider_error(response, provider="GitHub", message=message, wait=wait,
                          code="rate_limited" if limited else None)


def _headers(ctx: StepContext, creds: GitHubCredentials) -> tuple[dict[str, str], Any]:
    if ctx.oauth is not None and creds.client_id:  # an OAuth app: refreshed by the hub
        return dict(HEADERS), ctx.oauth
    return {**HEADERS, "Authorization": f"Bearer {creds.access_token.get_secret_value()}"}, None


async def call(ctx: StepContext, method: str, path: str, body: dict[str, Any]) -> Any:
    """One REST call; the decoded answer, or a ``StepError``."""
    if not isinstance(ctx.creds, GitHubCredentials) or ctx.http is None:
        raise StepError("the step needs a github connection", code="no_connection",
                        retryable=False)
    headers, auth = _headers(ctx, ctx.creds)
    try:
        response = await ctx.http.request(method, API + path, json=body, headers=headers,
                                          **({"auth": auth} if auth is not None else {}))
    except httpx.HTTPError as exc:
        raise provider_error(exc, provider="GitHub") from None
    if response.status_code >= 400:
        raise github_error(response)
    try:
        return response.json()
    except ValueError:
        raise StepError("GitHub answered with a body that is not JSON",
                        code="invalid_response", retryable=False) from None
