"""build_registry: each validation rule raises PluginError naming the plugin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pluggy
import pytest

from hub import Credentials, Guardrail, Model, SignatureScheme, TriggerKind, hookimpl
from hub.errors import PluginError
from hub.plugins import create_plugin_manager
from hub.registry import build_registry
from hub.settings import Settings
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
    assert registry.registered_by("acme") == {"connectors": ["shared"]}


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
