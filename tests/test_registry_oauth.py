"""An OAuth2 connector must keep its tokens in an OAuth2Credentials model: checked at start."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from hub import Connector, Credentials, hookimpl
from hub.context import Hub
from hub.errors import PluginError
from hub.plugins import create_plugin_manager
from hub.registry import build_registry
from hub.sdk import OAuth2, OAuth2Credentials
from hub.settings import Settings

FLOW = OAuth2(authorize_url="https://auth.example.com/authorize",
              token_url="https://auth.example.com/token", scopes=("read",))


class PlainCredentials(Credentials):
    api_key: SecretStr


class TokenCredentials(OAuth2Credentials):
    pass


def _connector(creds: type[Credentials], flow: OAuth2 | None) -> type[Connector]:
    return type("Exa", (Connector,), {"key": "exa", "title": "Example", "Credentials": creds,
                                      "oauth2": flow, "actions": ()})


def _pm(connector: type[Connector], settings: Settings | None = None) -> Any:
    class Plugin:
        @staticmethod
        @hookimpl
        def register_connectors(register: Any) -> None:
            register(connector)

    pm = create_plugin_manager(load_entrypoints=False, settings=settings or Settings())
    pm.register(Plugin(), name="exa_plugin")
    return pm


def test_oauth2_connector_with_plain_credentials_is_refused() -> None:
    with pytest.raises(PluginError) as info:
        build_registry(_pm(_connector(PlainCredentials, FLOW)))
    message = str(info.value)
    assert "exa_plugin" in message and "'exa'" in message
    assert "OAuth2Credentials" in message


@pytest.mark.parametrize(("creds", "flow"), [(TokenCredentials, FLOW),
                                             (PlainCredentials, None),
                                             (TokenCredentials, None)])
def test_consistent_connectors_register(creds: type[Credentials], flow: OAuth2 | None) -> None:
    registry = build_registry(_pm(_connector(creds, flow)))
    assert registry.connectors["exa"].Credentials is creds
    assert registry.owners[("connectors", "exa")] == "exa_plugin"


async def test_hub_refuses_to_start(settings: Settings) -> None:
    with pytest.raises(PluginError, match="plugin 'exa_plugin'"):
        await Hub.open(settings, pm=_pm(_connector(PlainCredentials, FLOW), settings))
