"""Built-in ``core`` connector: ``core.transform`` and ``core.filter``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub import Action, Connector, StepContext, StepResult, hookimpl


class _Object(BaseModel):
    model_config = ConfigDict(extra="allow")


class Transform(Action):
    """Build an object from expressions: the rendered input becomes the output."""

    key = "transform"
    side_effects = False
    title = "Transform data"
    description = "Builds a new object; each input field is a value or a {{ }} template."
    Input = _Object
    Output = _Object

    async def run(self, payload: _Object, ctx: StepContext) -> dict[str, Any]:
        return payload.model_dump()


class FilterInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    condition: Any = Field(title="Condition",
                           description="Continue only if truthy, e.g. {{ trigger.amount > `100` }}")


class FilterOutput(BaseModel):
    passed: bool


class Filter(Action):
    """Stop the run as ``filtered`` when the condition is false."""

    key = "filter"
    side_effects = False
    title = "Only continue if"
    description = "Ends the run with status `filtered` unless the condition is truthy."
    Input = FilterInput
    Output = FilterOutput

    async def run(self, payload: FilterInput, ctx: StepContext) -> StepResult:
        value = payload.condition
        # JMESPath truthiness: false, null and empty string/list/object are false; 0 is true.
        passed = value is not None and value is not False and value not in ("", [], {})
        return StepResult({"passed": passed}, stop=None if passed else "filtered")


class Core(Connector):
    key = "core"
    title = "Core"
    description = "Built-in steps that shape and route data."
    actions = (Transform, Filter)


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(Core)
