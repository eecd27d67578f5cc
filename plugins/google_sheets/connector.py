"""The ``google_sheets`` connector: a Google OAuth2 app with offline access (a refresh token
the hub uses before the one-hour access token expires)."""

from __future__ import annotations

import httpx

from hub import (
    CannotConnect,
    Connector,
    Credentials,
    InvalidCredentials,
    OAuth2,
    OAuth2Credentials,
)

from .actions import AppendRow, FindRows

TOKENINFO = "https://oauth2.googleapis.com/tokeninfo"
SCOPE = "https://www.googleapis.com/auth/spreadsheets"


class GoogleCredentials(OAuth2Credentials):
    """Filled by "Connect" with the workspace's own Google OAuth client (Web application)."""


class GoogleSheets(Connector):
    key = "google_sheets"
    title = "Google Sheets"
    description = "Append rows to and look up rows in Google Sheets."
    Credentials = GoogleCredentials
    actions = (AppendRow, FindRows)
    hosts = ("sheets.googleapis.com", "oauth2.googleapis.com")
    oauth2 = OAuth2(authorize_url="https://accounts.google.com/o/oauth2/v2/auth",
                    token_url="https://oauth2.googleapis.com/token", scopes=(SCOPE,),
                    authorize_params={"access_type": "offline", "prompt": "consent",
                                      "include_granted_scopes": "true"})

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        """The token is valid and grants the spreadsheets scope (Google's tokeninfo)."""
        if not isinstance(creds, GoogleCredentials):
            raise InvalidCredentials("expected Google credentials")
        try:
            response = await http.post(TOKENINFO, data={
                "access_token": creds.access_token.get_secret_value()})
        except httpx.HTTPError as exc:
            raise CannotConnect(f"cannot reach Google: {type(exc).__name__}") from None
        if response.status_code == 400:
            raise InvalidCredentials("Google rejected the access token")
        if response.status_code >= 400:
            raise CannotConnect(f"Google answered {response.status_code}")
        scopes = str(response.json().get("scope", "")).split()
        if SCOPE not in scopes:
            raise InvalidCredentials("the grant lacks the spreadsheets scope")
