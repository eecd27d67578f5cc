"""Test plugin for the OAuth2 log tests: the ``acme`` OAuth2 connector, talking to the loopback
OAuth2 server whose base URL is in ``OAUTH_TEST_PROVIDER`` (read when the plugin loads)."""

from __future__ import annotations

import os
from typing import Any

from pydantic import BaseModel

from hub import Action, Connector, StepContext, hookimpl
from hub.sdk import OAuth2, OAuth2Credentials

BASE = os.environ.get("OAUTH_TEST_PROVIDER", "http://127.0.0.1:9")


class AcmeCredentials(OAuth2Credentials):
    pass


class WhoOut(BaseModel):
    user: str


class WhoAmI(Action):
    key = "whoami"
    title = "Who am I"
    Output = WhoOut

    async def run(self, payload: Any, ctx: StepContext) -> WhoOut:
        assert ctx.http is not None and ctx.oauth is not None
        r = await ctx.http.get(f"{BASE}/me", auth=ctx.oauth)
        r.raise_for_status()
        return WhoOut(**r.json())


class Acme(Connector):
    key = "acme"
    title = "Acme (OAuth2)"
    Credentials = AcmeCredentials
    hosts = ("127.0.0.1",)
    oauth2 = OAuth2(authorize_url=f"{BASE}/authorize", token_url=f"{BASE}/token",
                    scopes=("read",))
    actions = (WhoAmI,)

    async def check(self, creds: Any, http: Any) -> None:
        return None


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(Acme)
