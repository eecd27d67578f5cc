"""build_registry: each validation rule raises PluginError naming the plugin."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
from pydantic import BaseModel, Field

from hub import (
    Credentials,
    Guardrail,
    Model,
    PollResult,
    PollTrigger,
    SignatureScheme,
    TriggerKind,
    hookimpl,
)
from hub.errors import PluginError
from hub.plugins import create_plugin_manager
from hub.registry import build_registry
from hub.settings import Settings
from hub.testing import check_connector
from plugins import invalid, sample


@pytest.fixture
def pm() -> Iterator[pluggy.PluginManager]:
    manager = create_plugin_manager(load_entrypoints=False, settings=Settings())
    yield manager
    for name in ("acme", "first", "second"):
        if manager.has_plugin(name):
            manager.unregister(name=name)


def _fails(pm: pluggy.PluginManager, cls: Any, match: str) -> PluginError:
    pm.register(invalid.Registers(cls), name="acme")
    with pytest.raises(PluginError, match=match) as info:
        build_registry(pm)
    assert str(info.value).startswith("plugin 'acme': "), str(info.value)
    return info.value


def test_valid_plugin_registers(pm: pluggy.PluginManager) -> None:
    pm.register(invalid.Registers(invalid.SHARED_KEY), name="acme")
    registry = build_registry(pm)
    assert registry.connectors["shared"] is invalid.SHARED_KEY
    assert registry.action("shared.good") is invalid.Good
    assert registry.registered_by("acme") == {"actions": ["shared.good"],
                                              "connectors": ["shared"]}


def test_not_a_subclass(pm: pluggy.PluginManager) -> None:
    _fails(pm, object, "expected a Connector subclass")


def test_bad_key(pm: pluggy.PluginManager) -> None:
    _fails(pm, invalid.BAD_KEY, "'key' must be a lowercase identifier")


def test_missing_key(pm: pluggy.PluginManager) -> None:
    no_key = type("NoKey", (invalid.Connector,), {"title": "No key"})
    _fails(pm, no_key, "NoKey: 'key' must be")


def test_missing_title(pm: pluggy.PluginManager) -> None:
    _fails(pm, invalid.NO_TITLE, "connector 'no_title': missing 'title'")


def test_non_pydantic_input(pm: pluggy.PluginManager) -> None:
    _fails(pm, invalid.PLAIN_INPUT, "action 'plain.plain_input': Input must be a pydantic model")


def test_input_without_json_schema(pm: pluggy.PluginManager) -> None:
    _fails(pm, invalid.NO_SCHEMA, "action 'no_schema.no_schema': Input does not render")


def test_credentials_without_json_schema(pm: pluggy.PluginManager) -> None:
    class Creds(invalid.NoSchemaInput, Credentials):
        pass

    cls = invalid.connector("creds", invalid.Good)
    cls.Credentials = Creds  # type: ignore[assignment]
    _fails(pm, cls, "connector 'creds': Credentials does not render")


def test_sync_run(pm: pluggy.PluginManager) -> None:
    _fails(pm, invalid.SYNC_RUN, "action 'sync.sync_run': 'run' must be an async method")


def test_run_not_implemented(pm: pluggy.PluginManager) -> None:
    lazy = type("Lazy", (invalid.Action,), {"key": "lazy", "title": "Lazy"})
    _fails(pm, invalid.connector("lazy", lazy), "'run' must be an async method")


def test_duplicate_action(pm: pluggy.PluginManager) -> None:
    _fails(pm, invalid.DUP_ACTION, "connector 'dup_action': duplicate action 'good'")


def test_duplicate_key_names_both_plugins(pm: pluggy.PluginManager) -> None:
    pm.register(invalid.Registers(invalid.SHARED_KEY), name="first")
    pm.register(invalid.Registers(invalid.connector("shared", invalid.Good)), name="second")
    with pytest.raises(PluginError) as info:
        build_registry(pm)
    message = str(info.value)
    # pluggy calls the later registration first, so "second" owns the key
    assert message.startswith("plugin 'first': connector 'shared' is already registered")
    assert "by plugin 'second'" in message


def test_duplicate_of_builtin_names_both(pm: pluggy.PluginManager) -> None:
    core = invalid.connector("core", invalid.Good)
    pm.register(invalid.Registers(core), name="acme")
    with pytest.raises(PluginError, match="plugin 'core': connector 'core' is already "
                                          "registered by plugin 'acme'"):
        build_registry(pm)


@pytest.mark.parametrize("section,base", [
    ("models", Model), ("guardrails", Guardrail),
    ("trigger_kinds", TriggerKind), ("signature_schemes", SignatureScheme)])
def test_other_kinds_validate_config(pm: pluggy.PluginManager, section: str,
                                     base: type) -> None:
    bad = type("Bad", (base,), {"key": "bad", "title": "Bad", "Config": dict})
    hook = {"models": "register_models", "guardrails": "register_guardrails",
            "trigger_kinds": "register_trigger_kinds",
            "signature_schemes": "register_signature_schemes"}[section]

    class Plugin:
        pass

    setattr(Plugin, hook, hookimpl(lambda self, register: register(bad)))
    pm.register(Plugin(), name="acme")
    with pytest.raises(PluginError, match="plugin 'acme': .*'bad': Config must be a pydantic"):
        build_registry(pm)


def test_registered_with_the_wrong_hook(pm: pluggy.PluginManager) -> None:
    class Plugin:
        @hookimpl
        def register_models(self, register: Any) -> None:
            register(sample.SampleConnector)

    pm.register(Plugin(), name="acme")
    with pytest.raises(PluginError, match="plugin 'acme': registered .* expected a Model"):
        build_registry(pm)


# --- poll triggers, secrets, models and guardrails: the hub and hub.testing agree ------------


class _NotesConfig(BaseModel):
    folder: str = Field("inbox", title="Folder")


class _Poll(PollTrigger):
    key = "new_notes"
    title = "New notes"
    Config = _NotesConfig

    async def poll(self, config: Any, creds: Any, cursor: Any, http: Any) -> PollResult:
        return PollResult(items=[])


def _trigger(**attrs: Any) -> type[PollTrigger]:
    return type("T", (_Poll,), attrs)


def _plain_poll(self: Any, config: Any, creds: Any, cursor: Any, http: Any) -> Any:
    return None


async def _short_poll(self: Any, config: Any, cursor: Any) -> Any:
    return None


POLL_FAULTS = [
    ("bad key", _trigger(key="New Notes!"),
     "poll trigger T: 'key' must be a lowercase identifier (a-z, 0-9, _), got 'New Notes!'"),
    ("no title", _trigger(title=""), "poll trigger 'notes.new_notes': missing 'title'"),
    ("dict config", _trigger(Config=dict),
     "poll trigger 'notes.new_notes': Config must be a pydantic model class"),
    ("sync poll", _trigger(poll=_plain_poll),
     "poll trigger 'notes.new_notes': 'poll' must be `async def poll(self, config, creds, "
     "cursor, http)`"),
    ("missing poll", type("Lazy", (PollTrigger,), {"key": "new_notes", "title": "Lazy"}),
     "'poll' must be `async def poll"),
    ("few params", _trigger(poll=_short_poll), "'poll' must be `async def poll"),
    ("no dedupe key", _trigger(dedupe_key=""), "'dedupe_key' must name the item field"),
    ("not a trigger", object, "poll trigger object: <class 'object'> is not a PollTrigger"),
]


def _notes(*triggers: Any) -> type:
    return type("Notes", (invalid.Connector,), {"key": "notes", "title": "Notes",
                                                "triggers": triggers})


@pytest.mark.parametrize("trigger,message", [(t, m) for _, t, m in POLL_FAULTS],
                         ids=[n for n, _, _ in POLL_FAULTS])
def test_poll_trigger_rules(pm: pluggy.PluginManager, trigger: Any, message: str) -> None:
    error = _fails(pm, _notes(trigger), re.escape(message))
    with pytest.raises(AssertionError) as info:  # the contract suite says the same
        check_connector(_notes(trigger))
    assert message in str(info.value) and message in str(error)


def test_poll_trigger_registered(pm: pluggy.PluginManager) -> None:
    pm.register(invalid.Registers(_notes(_Poll)), name="acme")
    registry = build_registry(pm)
    assert registry.poll_triggers["notes.new_notes"] is _Poll
    assert registry.registered_by("acme") == {"connectors": ["notes"],
                                              "poll_triggers": ["notes.new_notes"]}
    check_connector(_notes(_Poll))


def test_duplicate_poll_trigger(pm: pluggy.PluginManager) -> None:
    _fails(pm, _notes(_Poll, _Poll), "connector 'notes': duplicate poll trigger 'new_notes'")


class _Leaky(Credentials):
    token: str = Field(title="Token")
    token_url: str = Field("https://x.test/token", title="Token URL")


class _Nested(BaseModel):
    kind: str = Field("basic", title="Kind")
    password: str = Field(title="Password")


class _NestedCreds(Credentials):
    auth: _Nested | None = Field(None, title="Auth")


@pytest.mark.parametrize("creds,message", [
    (_Leaky, "connector 'creds': Credentials.token: looks like a secret"),
    (_NestedCreds, "connector 'creds': Credentials.auth.password: looks like a secret"),
    (type("Plain", (BaseModel,), {}), "Credentials must subclass hub.Credentials"),
])
def test_secret_rule_at_registration(pm: pluggy.PluginManager, creds: type,
                                     message: str) -> None:
    cls = invalid.connector("creds", invalid.Good)
    cls.Credentials = creds  # type: ignore[assignment]
    _fails(pm, cls, re.escape(message))


def test_registered_twice_by_one_plugin(pm: pluggy.PluginManager) -> None:
    pm.register(invalid.Registers(invalid.SHARED_KEY, invalid.SHARED_KEY), name="acme")
    with pytest.raises(PluginError, match="plugin 'acme': connector 'shared' is registered "
                                          "twice"):
        build_registry(pm)


@pytest.mark.parametrize("base,attrs,message", [
    (Model, {"call": lambda self, request, **kw: None}, "'call' must be an async method"),
    (Model, {"capabilities": ["chat"]}, "'capabilities' must be a frozenset of strings"),
    (Guardrail, {"stages": frozenset()}, "'stages' must be a non-empty subset"),
    (Guardrail, {"check": lambda self, text, **kw: None}, "'check' must be an async method"),
    (SignatureScheme, {}, "'verify' must be a (synchronous) method of its own"),
])
def test_kind_rules(pm: pluggy.PluginManager, base: type, attrs: dict[str, Any],
                    message: str) -> None:
    bad = type("Bad", (base,), {"key": "bad", "title": "Bad", **attrs})
    hook = {Model: "register_models", Guardrail: "register_guardrails",
            SignatureScheme: "register_signature_schemes"}[base]

    class Plugin:
        pass

    setattr(Plugin, hook, hookimpl(lambda self, register: register(bad)))
    pm.register(Plugin(), name="acme")
    with pytest.raises(PluginError, match=re.escape(message)):
        build_registry(pm)
