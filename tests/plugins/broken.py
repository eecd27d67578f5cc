"""Plugins that fail one way each after importing: a raising hookimpl, a leaky secret, a
poll trigger without a title, and registrations that are only partly valid."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import BaseModel, Field

from hub import Connector, Credentials, Guardrail, PollResult, PollTrigger, hookimpl
from plugins.invalid import Good, connector


class RaisingHook:
    @hookimpl
    def register_connectors(self, register: Callable[[type], None]) -> None:
        raise RuntimeError("boom while registering")


class LeakyCredentials(Credentials):
    api_key: str = Field(title="API key")


class Leaky(Connector):
    key = "leaky"
    title = "Leaky"
    Credentials = LeakyCredentials
    actions = (Good,)


class NotesConfig(BaseModel):
    folder: str = Field("inbox", title="Folder")


class NewNotes(PollTrigger):
    key = "new_notes"
    Config = NotesConfig

    async def poll(self, config: Any, creds: Any, cursor: Any,
                   http: httpx.AsyncClient) -> PollResult:
        return PollResult(items=[])


class Notes(Connector):
    key = "notes"
    title = "Notes"
    triggers = (NewNotes,)


class BadStages(Guardrail):
    key = "bad_stages"
    title = "Bad stages"
    stages = frozenset({"before"})


class Partial:
    """A valid connector, then a guardrail that breaks a rule: neither may remain."""

    @hookimpl
    def register_connectors(self, register: Callable[[type], None]) -> None:
        register(connector("partial_ok", Good))

    @hookimpl
    def register_guardrails(self, register: Callable[[type], None]) -> None:
        register(BadStages)


class Swallows:
    """Catches the registry's error and carries on: the plugin still fails."""

    @hookimpl
    def register_connectors(self, register: Callable[[type], None]) -> None:
        register(connector("swallow_ok", Good))
        with contextlib.suppress(Exception):  # the point of this plugin
            register(Leaky)
