"""The ``github`` connector against mocks shaped like GitHub's REST API v3 (errors
``{"message", "documentation_url"}``, rate-limit headers) and its OAuth app token endpoint."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from connhelp import ctx
from hub_plugins.github.actions import AddComment, AddLabels, CreateIssue
from hub_plugins.github.api import GitHubCredentials
from hub_plugins.github.connector import GitHub
from pytest_httpx import HTTPXMock

from hub import InvalidCredentials, StepError
from hub import oauth as hub_oauth
from hub.context import Hub
from hub.errors import HubError
from hub.services import connections, identity
from hub.testing import check_connector

REPO = "https://api.github.com/repos/octo-org/hello"
HEADERS = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
           "Authorization": "Bearer ghp_test"}
DOCS = "https://docs.github.com/rest"


def test_contract() -> None:
    check_connector(GitHub)


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient() as c:
        yield c


async def act(action: Any, http: httpx.AsyncClient, **payload: Any) -> dict[str, Any]:
    creds = GitHubCredentials(access_token="ghp_test")
    out = await action().run(action.Input.model_validate(payload), ctx(creds, http))
    return out.model_dump()


async def test_create_issue(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(
        method="POST", url=f"{REPO}/issues", match_headers=HEADERS, status_code=201,
        match_json={"title": "Login broken", "body": "Steps...", "labels": ["bug"],
                    "assignees": []},
        json={"id": 1, "node_id": "MDU6SXNzdWUx", "number": 1347, "state": "open",
              "url": f"{REPO}/issues/1347", "html_url": "https://github.com/octo-org/hello/issues/1347",
              "title": "Login broken", "labels": [{"id": 208045946, "name": "bug"}]})
    out = await act(CreateIssue, http, repository="octo-org/hello", title="Login broken",
                    body="Steps...", labels=["bug"])
    assert out == {"number": 1347, "id": 1, "state": "open",
                   "url": "https://github.com/octo-org/hello/issues/1347"}


async def test_comment_and_labels(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(
        method="POST", url=f"{REPO}/issues/7/comments", match_headers=HEADERS,
        match_json={"body": "Thanks!"}, status_code=201,
        json={"id": 1, "html_url": "https://github.com/octo-org/hello/issues/7#issuecomment-1",
              "body": "Thanks!", "user": {"login": "octocat"}})
    httpx_mock.add_response(
        method="POST", url=f"{REPO}/issues/7/labels", match_json={"labels": ["triage"]},
        json=[{"id": 1, "name": "bug", "color": "f29513", "default": True},
              {"id": 2, "name": "triage", "color": "a2eeef", "default": False}])
    out = await act(AddComment, http, repository="octo-org/hello", issue_number=7,
                    body="Thanks!")
    assert out["id"] == 1 and out["url"].endswith("#issuecomment-1")
    out = await act(AddLabels, http, repository="octo-org/hello", issue_number=7,
                    labels=["triage"])
    assert out == {"labels": ["bug", "triage"]}


def _limit(reset_in: int) -> dict[str, str]:
    """Rate-limit headers; the reset time is made absolute when the test runs."""
    return {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
            "x-ratelimit-reset": f"+{reset_in}"}


@pytest.mark.parametrize("status,body,headers,expected", [
    (401, {"message": "Bad credentials", "documentation_url": DOCS}, {},
     ("invalid_auth", False, "Bad credentials")),
    (403, {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS},
     _limit(120), ("rate_limited", True, "rate limit exceeded")),
    (403, {"message": "You have exceeded a secondary rate limit.", "documentation_url": DOCS},
     {"retry-after": "60"}, ("rate_limited", True, "secondary rate limit")),
    (403, {"message": "Resource not accessible by personal access token",
           "documentation_url": DOCS}, {}, ("invalid_auth", False, "not accessible")),
    (404, {"message": "Not Found", "documentation_url": DOCS}, {},
     ("provider_error", False, "Not Found")),
    (410, {"message": "Issues are disabled for this repo", "documentation_url": DOCS}, {},
     ("provider_error", False, "Issues are disabled")),
    (422, {"message": "Validation Failed", "documentation_url": DOCS,
           "errors": [{"resource": "Issue", "code": "missing_field", "field": "title"}]}, {},
     ("provider_error", False, "Validation Failed: title missing_field")),
    (502, {"message": "Server Error"}, {}, ("provider_unavailable", True, "Server Error"))])
async def test_errors(httpx_mock: HTTPXMock, http: httpx.AsyncClient, status: int,
                      body: dict[str, Any], headers: dict[str, str],
                      expected: tuple[str, bool, str]) -> None:
    reset = headers.get("x-ratelimit-reset", "")
    if reset.startswith("+"):
        headers = headers | {"x-ratelimit-reset": str(int(time.time()) + int(reset[1:]))}
    httpx_mock.add_response(method="POST", url=f"{REPO}/issues", status_code=status, json=body,
                            headers=headers)
    with pytest.raises(StepError) as info:
        await act(CreateIssue, http, repository="octo-org/hello", title="x")
    err = info.value
    assert (err.code, err.retryable) == expected[:2] and expected[2] in err.message
    if err.code == "rate_limited":
        assert 50 <= err.extra["retry_after"] <= 121


def test_repository_checked() -> None:
    for bad in ("hello", "a/b/c", "../x/y", "a b/c"):
        with pytest.raises(ValueError):
            CreateIssue.Input(repository=bad, title="x")


async def test_check(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url="https://api.github.com/user", match_headers=HEADERS,
                            json={"login": "octocat", "id": 1})
    httpx_mock.add_response(url="https://api.github.com/user", status_code=401,
                            json={"message": "Bad credentials", "documentation_url": DOCS})
    creds = GitHubCredentials(access_token="ghp_test")
    await GitHub().check(creds, http)
    with pytest.raises(InvalidCredentials):
        await GitHub().check(creds, http)


# --- OAuth app: GitHub's token endpoint answers JSON only when asked ----------------------------

TOKEN = "https://github.com/login/oauth/access_token"


async def test_oauth_app(hub: Hub, owner: identity.Principal, httpx_mock: HTTPXMock) -> None:
    ws = owner.workspace_id
    started = await hub_oauth.start(hub, workspace_id=ws, connector="github", name="gh",
                                    client_id="Iv1.abc", client_secret="gh-app-secret")
    assert "scope=repo" in started["authorize_url"]
    httpx_mock.add_response(method="POST", url=TOKEN, match_headers={"Accept": "application/json"},
                            json={"error": "bad_verification_code",
                                  "error_description": "The code passed is incorrect or expired.",
                                  "error_uri": DOCS})
    with pytest.raises(HubError, match="incorrect or expired") as info:
        await hub_oauth.finish(hub, code="stale", state=started["state"])
    assert info.value.code == "oauth_token_failed"
    started = await hub_oauth.start(hub, workspace_id=ws, connector="github", name="gh",
                                    client_id="Iv1.abc", client_secret="gh-app-secret")
    httpx_mock.add_response(method="POST", url=TOKEN, match_headers={"Accept": "application/json"},
                            json={"access_token": "gho_16C7e42F292c6912E7710c838347Ae178B4a",
                                  "scope": "repo", "token_type": "bearer"})
    httpx_mock.add_response(url="https://api.github.com/user", json={"login": "octocat"})
    await hub_oauth.finish(hub, code="good", state=started["state"])
    creds = await connections.get_credentials(hub, workspace_id=ws, name="gh")
    assert creds.access_token.get_secret_value().startswith("gho_")  # type: ignore[attr-defined]
