"""Connectors that break one registration rule each, and a plugin class registering any of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

from hub import Action, Connector, StepContext, hookimpl


class Opaque:
    """A type pydantic accepts (arbitrary types) but cannot describe in JSON Schema."""


class NoSchemaInput(BaseModel):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    thing: Opaque


class Good(Action):
    key = "good"
    title = "Good"

    async def run(self, payload: Any, ctx: StepContext) -> dict[str, Any]:
        return {}


class PlainInput(Good):
    key = "plain_input"
    Input = dict  # type: ignore[assignment]


class NoSchema(Good):
    key = "no_schema"
    Input = NoSchemaInput


class SyncRun(Action):
    key = "sync_run"
    title = "Sync run"

    def run(self, payload: Any, ctx: StepContext) -> dict[str, Any]:  # type: ignore[override]
        return {}


def connector(key: str, *actions: type[Action], title: str = "Test") -> type[Connector]:
    """A connector class with the given key, title and actions."""
    return type(f"C_{key}", (Connector,), {"key": key, "title": title, "actions": actions})


BAD_KEY = connector("Bad-Key", Good)
NO_TITLE = connector("no_title", Good, title="")
PLAIN_INPUT = connector("plain", PlainInput)
NO_SCHEMA = connector("no_schema", NoSchema)
SYNC_RUN = connector("sync", SyncRun)
DUP_ACTION = connector("dup_action", Good, Good)
SHARED_KEY = connector("shared", Good)


class Registers:
    """A plugin object that registers the given connector classes."""

    def __init__(self, *classes: type) -> None:
        self.classes = classes

    @hookimpl
    def register_connectors(self, register: Callable[[type], None]) -> None:
        for cls in self.classes:
            register(cls)
