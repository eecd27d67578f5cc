"""The ``google_sheets`` connector against mocks shaped like the Sheets API v4 (errors
``{"error": {"code", "message", "status"}}``), and the Google OAuth app: offline access in the
authorize URL, then a run whose expired token the hub refreshes."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from connhelp import ctx
from hub_plugins.google_sheets.actions import AppendRow, FindRows
from hub_plugins.google_sheets.connector import GoogleCredentials, GoogleSheets
from pytest_httpx import HTTPXMock
from test_engine import finish, start

from hub import StepError
from hub import oauth as hub_oauth
from hub.context import Hub
from hub.services import connections, identity
from hub.testing import check_connector

SHEET = "1BxiMVs0XRA5nFMdKvBdBZjgmUUqptlbs74OgvE2upms"
BASE = f"https://sheets.googleapis.com/v4/spreadsheets/{SHEET}/values"
TOKEN = "https://oauth2.googleapis.com/token"
TOKENINFO = "https://oauth2.googleapis.com/tokeninfo"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"


def test_contract() -> None:
    check_connector(GoogleSheets)


@pytest.fixture
async def http() -> Any:
    async with httpx.AsyncClient() as c:
        yield c


async def act(action: Any, http: httpx.AsyncClient, **payload: Any) -> dict[str, Any]:
    creds = GoogleCredentials(client_id="cid", client_secret="cs", access_token="ya29.a0")
    data = {"spreadsheet_id": SHEET} | payload
    out = await action().run(action.Input.model_validate(data), ctx(creds, http))
    return out.model_dump()


async def test_append_row(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(
        method="POST", match_headers={"Authorization": "Bearer ya29.a0"},
        url=f"{BASE}/Leads%21A%3AC:append?valueInputOption=USER_ENTERED"
            "&insertDataOption=INSERT_ROWS",
        match_json={"majorDimension": "ROWS", "values": [["Ada", 42, True]]},
        json={"spreadsheetId": SHEET, "tableRange": "Leads!A1:C5",
              "updates": {"spreadsheetId": SHEET, "updatedRange": "Leads!A6:C6",
                          "updatedRows": 1, "updatedColumns": 3, "updatedCells": 3}})
    out = await act(AppendRow, http, range="Leads!A:C", values=["Ada", 42, True])
    assert out == {"updated_range": "Leads!A6:C6", "updated_rows": 1}


VALUES = {"range": "Leads!A1:Z1000", "majorDimension": "ROWS", "values": [
    ["email", "name", "plan"], ["ada@example.com", "Ada", "pro"], ["bob@example.com", "Bob"],
    ["ADA@example.com", "Ada 2", "free"]]}


async def test_find_rows(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    url = f"{BASE}/Leads?majorDimension=ROWS&valueRenderOption=FORMATTED_VALUE"
    httpx_mock.add_response(url=url, json=VALUES, is_reusable=True)
    out = await act(FindRows, http, range="Leads", column="email", value="ada@example.com")
    assert out["rows"] == [{"email": "ada@example.com", "name": "Ada", "plan": "pro",
                            "row_number": 2}]
    out = await act(FindRows, http, range="Leads", column="email", value="ada@example.com",
                    ignore_case=True)
    assert [r["row_number"] for r in out["rows"]] == [2, 4]
    out = await act(FindRows, http, range="Leads", column="name", value="Bob")
    assert out["rows"][0]["plan"] == ""  # a short row is padded
    out = await act(FindRows, http, range="Leads", column="nope", value="x")
    assert out == {"rows": [], "count": 0, "found": False}


async def test_find_rows_in_a_range_counts_sheet_rows(httpx_mock: HTTPXMock,
                                                      http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(url=f"{BASE}/Leads%21A5%3AC?majorDimension=ROWS"
                                "&valueRenderOption=FORMATTED_VALUE",
                            json={"range": "Leads!A5:C9", "values": [["id"], ["7"], ["8"]]})
    out = await act(FindRows, http, range="Leads!A5:C", column="id", value=8)
    assert out["rows"] == [{"id": "8", "row_number": 7}]


def _google(code: int, status: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "status": status}}


@pytest.mark.parametrize("status,body,expected", [
    (400, _google(400, "INVALID_ARGUMENT", "Unable to parse range: Nope!A1"),
     ("provider_error", False, "Unable to parse range")),
    (401, _google(401, "UNAUTHENTICATED", "Request had invalid authentication credentials."),
     ("invalid_auth", False, "invalid authentication")),
    (403, _google(403, "PERMISSION_DENIED", "The caller does not have permission"),
     ("invalid_auth", False, "does not have permission")),
    (404, _google(404, "NOT_FOUND", "Requested entity was not found."),
     ("provider_error", False, "not found")),
    (429, _google(429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Write requests'"),
     ("rate_limited", True, "Quota exceeded")),
    (503, _google(503, "UNAVAILABLE", "The service is currently unavailable."),
     ("provider_unavailable", True, "unavailable"))])
async def test_errors(httpx_mock: HTTPXMock, http: httpx.AsyncClient, status: int,
                      body: dict[str, Any], expected: tuple[str, bool, str]) -> None:
    httpx_mock.add_response(method="POST", status_code=status, json=body)
    with pytest.raises(StepError) as info:
        await act(AppendRow, http, range="Nope", values=["x"])
    assert (info.value.code, info.value.retryable) == expected[:2]
    assert expected[2] in info.value.message


async def test_malformed_answer(httpx_mock: HTTPXMock, http: httpx.AsyncClient) -> None:
    httpx_mock.add_response(content=b"[1, 2]")
    with pytest.raises(StepError) as info:
        await act(FindRows, http, column="a", value="b")
    assert info.value.code == "invalid_response"


async def test_oauth_offline_access_and_refresh(hub: Hub, owner: identity.Principal,
                                                httpx_mock: HTTPXMock) -> None:
    ws = owner.workspace_id
    started = await hub_oauth.start(hub, workspace_id=ws, connector="google_sheets",
                                    name="sheets", client_id="123.apps.googleusercontent.com",
                                    client_secret="GOCSPX-secret")
    query = parse_qs(urlparse(started["authorize_url"]).query)
    assert query["access_type"] == ["offline"] and query["prompt"] == ["consent"]
    assert query["scope"] == [SCOPE] and query["response_type"] == ["code"]
    httpx_mock.add_response(method="POST", url=TOKEN, json={
        "access_token": "ya29.first", "expires_in": 3599, "refresh_token": "1//refresh",
        "scope": SCOPE, "token_type": "Bearer"})
    httpx_mock.add_response(method="POST", url=TOKENINFO, json={
        "azp": "123", "aud": "123", "scope": SCOPE, "exp": "1700000000", "expires_in": "3599"})
    conn = await hub_oauth.finish(hub, code="4/0Ab", state=started["state"])
    await connections.update_secrets(hub, workspace_id=ws, connection_id=conn["id"],
                                     values={"expires_at": time.time() - 10})
    httpx_mock.add_response(method="POST", url=TOKEN, match_content=(
        b"grant_type=refresh_token&refresh_token=1%2F%2Frefresh"
        b"&client_id=123.apps.googleusercontent.com&client_secret=GOCSPX-secret"),
        json={"access_token": "ya29.second", "expires_in": 3599, "scope": SCOPE,
              "token_type": "Bearer"})
    httpx_mock.add_response(method="POST", match_headers={"Authorization": "Bearer ya29.second"},
                            url=f"{BASE}/Sheet1:append?valueInputOption=USER_ENTERED"
                                "&insertDataOption=INSERT_ROWS",
                            json={"spreadsheetId": SHEET, "updates": {
                                "updatedRange": "Sheet1!A2:B2", "updatedRows": 1}})
    run_id = await start(hub, ws, [{"id": "add", "use": "google_sheets.append_row",
                                     "connection": "sheets",
                                     "input": {"spreadsheet_id": SHEET,
                                               "values": ["{{ trigger.email }}", 1]}}],
                         data={"email": "ada@example.com"})
    run = await finish(hub, ws, run_id)
    assert run["status"] == "succeeded", run
    creds = await connections.get_credentials(hub, workspace_id=ws, name="sheets")
    assert creds.refresh_token.get_secret_value() == "1//refresh"  # type: ignore[attr-defined]
