"""Connectors whose check calls a URL from the credentials: the egress guard refuses it when
it is internal. ``Wrapping`` turns every failure into ``CannotConnect``, as careless
connectors do."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from pydantic import Field, SecretStr

from hub import CannotConnect, Connector, Credentials, hookimpl
from plugins.invalid import Good


class UrlCredentials(Credentials):
    url: str = Field(title="URL")
    api_key: SecretStr = Field(title="API key")


class Direct(Connector):
    key = "direct"
    title = "Direct"
    Credentials = UrlCredentials
    actions = (Good,)

    async def check(self, creds: UrlCredentials, http: httpx.AsyncClient) -> None:  # type: ignore[override]
        (await http.get(creds.url)).raise_for_status()


class Wrapping(Direct):
    key = "wrapping"
    title = "Wrapping"

    async def check(self, creds: UrlCredentials, http: httpx.AsyncClient) -> None:  # type: ignore[override]
        try:
            await super().check(creds, http)
        except Exception as exc:
            raise CannotConnect(f"cannot reach {creds.url}") from exc


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    register(Direct)
    register(Wrapping)
