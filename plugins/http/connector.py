"""The ``http`` connector: its credentials (an ``http_auth`` connection) and check."""

from __future__ import annotations

import httpx

from hub import CannotConnect, Connector, Credentials, InvalidCredentials, StepError

from .auth import ClientCredentialsAuth, HttpAuth, client_token, forget_token
from .poll import PollJson
from .request import Request


class Http(Connector):
    key = "http"
    title = "HTTP"
    description = "Call any HTTP API; poll a JSON endpoint for new items."
    Credentials = HttpAuth
    actions = (Request,)
    triggers = (PollJson,)
    connection_optional = True  # a connection only adds auth

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        """A client-credentials connection fetches a token; other kinds have nothing to ask."""
        if not isinstance(creds, HttpAuth):
            raise InvalidCredentials("expected http_auth credentials")
        if not isinstance(creds.auth, ClientCredentialsAuth):
            return
        forget_token(creds.auth)
        try:
            await client_token(creds.auth, http)
        except StepError as exc:
            if exc.code == "invalid_auth":
                raise InvalidCredentials(exc.message) from None
            raise CannotConnect(exc.message) from None
