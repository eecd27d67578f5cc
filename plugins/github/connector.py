"""The ``github`` connector: a personal access token or an OAuth app, checked with GET /user."""

from __future__ import annotations

import httpx

from hub import CannotConnect, Connector, Credentials, InvalidCredentials, OAuth2

from .actions import AddComment, AddLabels, CreateIssue
from .api import API, HEADERS, GitHubCredentials


class GitHub(Connector):
    key = "github"
    title = "GitHub"
    description = "Create issues, comment and label issues and pull requests."
    Credentials = GitHubCredentials
    actions = (CreateIssue, AddComment, AddLabels)
    hosts = ("api.github.com", "github.com")
    # GitHub's token endpoint answers form-encoded unless asked for JSON; the hub asks.
    oauth2 = OAuth2(authorize_url="https://github.com/login/oauth/authorize",
                    token_url="https://github.com/login/oauth/access_token", scopes=("repo",))

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        if not isinstance(creds, GitHubCredentials):
            raise InvalidCredentials("expected GitHub credentials")
        token = creds.access_token.get_secret_value()
        try:
            response = await http.get(f"{API}/user",
                                      headers={**HEADERS, "Authorization": f"Bearer {token}"})
        except httpx.HTTPError as exc:
            raise CannotConnect(f"cannot reach GitHub: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise InvalidCredentials("GitHub rejected the token (Bad credentials)")
        if response.status_code >= 400:
            raise CannotConnect(f"GitHub answered {response.status_code}")
