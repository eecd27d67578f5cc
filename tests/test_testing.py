"""hub.testing as plugin authors use it: the pytest plugin, the runners' checks, the contract
suite over poll triggers, models and guardrails."""

from __future__ import annotations

from typing import Any

import pluggy
import pytest
from pydantic import BaseModel, Field

import hub.testing
from hub import (
    Action,
    Connector,
    Guardrail,
    Model,
    PollResult,
    PollTrigger,
    StepContext,
    StepError,
    hookimpl,
)
from hub.errors import HubError
from hub.registry import Registry
from hub.testing import (
    Egress,
    check_plugin,
    check_poll_trigger,
    run_action,
    run_poll,
    step_context,
)


class Untitled(BaseModel):
    folder: str = "inbox"


class Items(PollTrigger):
    key = "items"
    title = "Items"
    dedupe_key = "uid"

    async def poll(self, config: Any, creds: Any, cursor: Any, http: Any) -> Any:
        if cursor == "not a result":
            return [{"uid": 1}]
        if cursor == "no key":
            return PollResult(items=[{"id": 1}])
        return PollResult(items=[{"uid": 1}, {"uid": 2}], cursor={"page": 2})


class Echo(Action):
    key = "echo"
    title = "Echo"

    class Input(BaseModel):
        text: str = Field(title="Text")

    class Output(BaseModel):
        text: str = Field(title="Text")
        attempt: int = Field(title="Attempt")

    async def run(self, payload: Any, ctx: StepContext) -> dict[str, Any]:
        if payload.text == "call":
            await ctx.http.get("http://127.0.0.1:9/")
        return {"text": payload.text, "attempt": ctx.attempt}


class Tool(Connector):
    key = "tool"
    title = "Tool"
    hosts = ("api.tool.test",)
    actions = (Echo,)
    triggers = (Items,)


class Plugin:
    @hookimpl
    def register_connectors(self, register: Any) -> None:
        register(Tool)


@pytest.fixture
def hub_plugin() -> object:
    return Plugin()


@pytest.fixture
def hub_plugin_name() -> str:
    return "tool"


def test_loaded_once_as_a_pytest_plugin(request: pytest.FixtureRequest) -> None:
    """The pytest11 entry point and ``pytest_plugins = ["hub.testing"]`` load one module."""
    manager = request.config.pluginmanager
    assert manager.get_plugin("hub.testing") is hub.testing
    assert [p for p in manager.get_plugins() if p is hub.testing] == [hub.testing]


def test_plugin_fixtures(hub_plugin_pm: pluggy.PluginManager, hub_registry: Registry,
                         hub_context: Any) -> None:
    assert hub_plugin_pm.has_plugin("tool") and hub_plugin_pm.has_plugin("core")
    assert hub_registry.poll_triggers["tool.items"] is Items
    ctx = hub_context(attempt=3, workspace_id="ws_1")
    assert (ctx.attempt, ctx.workspace_id, ctx.idempotency_key) == (3, "ws_1",
                                                                    "run_test:step")


async def test_run_action(hub_registry: Registry) -> None:
    out = await run_action("tool.echo", {"text": "hi"}, registry=hub_registry, attempt=2)
    assert out == {"text": "hi", "attempt": 2}
    with pytest.raises(LookupError, match="no action 'tool.nope'.*tool.echo"):
        await run_action("tool.nope", {}, registry=hub_registry)


async def test_run_action_keeps_the_connector_hosts(hub_registry: Registry) -> None:
    with pytest.raises(StepError, match="not among the connector's hosts"):
        await run_action("tool.echo", {"text": "call"}, registry=hub_registry)
    with pytest.raises(StepError, match="internal address"):  # hosts lifted, loopback denied
        await run_action("tool.echo", {"text": "call"}, registry=hub_registry,
                         egress=Egress(allow=None, hosts=()))


async def test_run_poll_checks_like_the_hub(hub_registry: Registry) -> None:
    result = await run_poll("tool.items", {}, registry=hub_registry)
    assert result.cursor == {"page": 2} and len(result.items) == 2
    for cursor, message in [("not a result", "returned list"), ("no key", "no 'uid'")]:
        with pytest.raises(HubError, match=message) as info:
            await run_poll("tool.items", {}, registry=hub_registry, cursor=cursor)
        assert info.value.code == "poll_failed"


def test_step_context_passes_fields_through() -> None:
    ctx = step_context(run_id="r", step_id="s", idempotency_key="k")
    assert (ctx.run_id, ctx.step_id, ctx.idempotency_key, ctx.creds) == ("r", "s", "k", None)


def test_contract_covers_poll_trigger_config() -> None:
    untitled = type("U", (Items,), {"Config": Untitled})
    with pytest.raises(AssertionError, match=r"poll trigger 'tool.items': Config.folder: "
                                             "needs a title"):
        check_poll_trigger(untitled, "tool")


class LazyModel(Model):
    key = "lazy_model"
    title = "Lazy model"


class LazyGuard(Guardrail):
    key = "lazy_guard"
    title = "Lazy guard"

    class Config(BaseModel):
        words: list[str] = []


class Lazy:
    @hookimpl
    def register_models(self, register: Any) -> None:
        register(LazyModel)

    @hookimpl
    def register_guardrails(self, register: Any) -> None:
        register(LazyGuard)


def test_contract_covers_models_and_guardrails() -> None:
    with pytest.raises(AssertionError) as info:
        check_plugin(Lazy(), name="lazy")
    assert str(info.value).splitlines()[1:] == [
        "  model 'lazy_model': does not implement 'call'",
        "  guardrail 'lazy_guard': Config.words: needs a title or a description",
        "  guardrail 'lazy_guard': does not implement 'check'"]
