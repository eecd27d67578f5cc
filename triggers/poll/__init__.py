"""Built-in ``poll`` trigger kind: the hub calls a connector's poll trigger on an interval and
starts one run per new item."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub import TriggerKind, hookimpl


class PollConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$", title="Source",
                        description="`<connector>.<poll trigger>`.", examples=["rss.new_items"])
    connection: str | None = Field(None, max_length=200, title="Connection")
    interval: float = Field(300.0, ge=1, le=86400, title="Interval (s)",
                            description="Seconds between polls.")
    config: dict[str, Any] = Field(default_factory=dict, title="Source settings")
    fire_on_first: bool = Field(False, title="Fire on first poll",
                                description="Start runs for the items the first poll finds; "
                                "by default they are only recorded as a baseline.")


class Poll(TriggerKind):
    key = "poll"
    title = "Poll"
    description = "Check a source on an interval; each new item starts a run."
    Config = PollConfig


@hookimpl
def register_trigger_kinds(register) -> None:  # type: ignore[no-untyped-def]
    register(Poll)
