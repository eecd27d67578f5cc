"""Built-in ``manual`` trigger kind: runs started from the API or ``hub run``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from hub import TriggerKind, hookimpl


class ManualConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_input_bytes: int = Field(1_048_576, ge=2, le=16_777_216, title="Largest input (bytes)",
                                 description="Inputs larger than this are refused with 413.")


class Manual(TriggerKind):
    key = "manual"
    title = "Manual"
    description = "Start a run with a JSON input from the API, the UI or `hub run`."
    Config = ManualConfig


@hookimpl
def register_trigger_kinds(register) -> None:  # type: ignore[no-untyped-def]
    register(Manual)
