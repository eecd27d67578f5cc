"""Built-in ``schedule`` trigger kind: cron expressions or fixed intervals in a time zone."""

from __future__ import annotations

import re
from typing import Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hub import TriggerKind, hookimpl

DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def check_cron(expr: str, tz: str) -> None:
    """Raise ``ValueError`` unless ``expr`` is a 5-field cron (or 6 with seconds first)."""
    from apscheduler.triggers.cron import CronTrigger

    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValueError("a cron expression has 5 fields (or 6 with seconds first)")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, dow = fields
    dow = re.sub(r"(?<![/\d])\d+", lambda m: DAYS[int(m.group()) % 7], dow)
    CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                day_of_week=dow, timezone=ZoneInfo(tz))


class ScheduleConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cron: str | None = Field(None, max_length=200, title="Cron expression",
                             description="`min hour day month weekday`, optionally with "
                             "seconds first, e.g. `*/15 9-17 * * mon-fri`.",
                             examples=["0 9 * * 1-5"])
    interval: float | None = Field(None, ge=1, le=31_536_000, title="Interval (s)",
                                   description="Fire every N seconds instead of a cron.")
    timezone: str = Field("UTC", max_length=64, title="Time zone",
                          description="IANA name, e.g. `Europe/Paris`.")
    misfire: Literal["skip", "catch_up"] = Field(
        "skip", title="After downtime", description="`skip` missed fires, or `catch_up`.")
    catch_up_max: int = Field(1, ge=1, le=1000, title="Catch up at most",
                              description="How many missed fires to run with `catch_up`.")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone '{value}'") from None
        return value

    @model_validator(mode="after")
    def _one_rule(self) -> Self:
        if (self.cron is None) == (self.interval is None):
            raise ValueError("give exactly one of `cron` and `interval`")
        if self.cron is not None:
            check_cron(self.cron, self.timezone)
        return self


class Schedule(TriggerKind):
    key = "schedule"
    title = "Schedule"
    description = "Start a run on a cron schedule or at a fixed interval (fired by `hub serve`)."
    Config = ScheduleConfig


@hookimpl
def register_trigger_kinds(register) -> None:  # type: ignore[no-untyped-def]
    register(Schedule)
