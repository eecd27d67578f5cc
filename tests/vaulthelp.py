"""Helpers shared by the vault tests: the test connector plugin and zaps that use it."""

from __future__ import annotations

from typing import Any

import pytest

from hub import plugins as hub_plugins

SECRET = "sk-live-7f3a9c1e5b2d4680aa"
OTHER_SECRET = "sk-live-0b1c2d3e4f5a6b7c8d"


def load_vault_plugin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every hub opened in the test (service, API, CLI) loads ``plugins.vault_fixtures``."""
    monkeypatch.setattr(hub_plugins, "BUILTIN_PLUGINS",
                        (*hub_plugins.BUILTIN_PLUGINS, "plugins.vault_fixtures"))


def echo_zap(name: str = "echoer", connection: str = "main", **inp: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"kind": "manual"},
            "steps": [{"id": "call", "use": "vlt.echo", "connection": connection,
                       "input": {"text": "{{ trigger.text }}", **inp}}]}


VALUES = {"api_key": SECRET, "region": "eu"}
