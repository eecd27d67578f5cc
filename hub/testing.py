"""Test helpers for plugin authors: fixtures and the connector contract suite.

Add ``pytest_plugins = ["hub.testing"]`` to your ``conftest.py``, then::

    from hub.testing import check_connector, check_plugin

    def test_contract():
        check_connector(AcmeConnector)

    def test_plugin_loads():
        check_plugin(hub_acme)
"""

from __future__ import annotations

import inspect
import re
import types
import typing
from collections.abc import Iterator
from typing import Any

import pluggy
import pytest
from pydantic import BaseModel, SecretStr

from hub import sdk
from hub.plugins import create_plugin_manager
from hub.registry import KEY_RE, Registry, build_registry
from hub.settings import Settings

#: Field names that must hold a ``SecretStr``: any ``_``-separated part is one of these.
SECRET_PARTS = frozenset({"token", "secret", "password", "passwd", "key", "apikey",
                          "credential", "credentials"})
_SECRET_RE = re.compile(r"(api_?key|client_secret|private_key|access_key)$")


@pytest.fixture
def hub_pm() -> Iterator[pluggy.PluginManager]:
    """A fresh plugin manager with the built-ins and no entry-point plugins.

    Register your plugin with ``hub_pm.register(module, name="acme")``; it is discarded
    after the test.
    """
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    try:
        yield pm
    finally:
        for name, plugin in list(pm.list_name_plugin()):
            if plugin is not None:
                pm.unregister(name=name)


def looks_secret(name: str) -> bool:
    """Whether a field name looks like it holds a secret (``api_key``, ``token`` ...)."""
    lowered = name.lower()
    return bool(SECRET_PARTS & set(lowered.split("_"))) or bool(_SECRET_RE.search(lowered))


def _is_secret_type(annotation: Any) -> bool:
    if annotation is SecretStr:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(_is_secret_type(a) for a in args)
    return False


def _check_fields(model: type[BaseModel], what: str) -> list[str]:
    problems = []
    for name, info in model.model_fields.items():
        if not (info.title or info.description):
            problems.append(f"{what}.{name}: needs a title or a description")
        if looks_secret(name) and not _is_secret_type(info.annotation):
            problems.append(f"{what}.{name}: looks like a secret, so it must be SecretStr")
    return problems


def _check_model(model: Any, what: str) -> list[str]:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return [f"{what}: must be a pydantic model class"]
    try:
        model.model_json_schema()
    except Exception as exc:  # noqa: BLE001 - report why the schema fails
        return [f"{what}: does not render to JSON Schema: {exc}"]
    return []


def _check_identity(cls: Any, what: str) -> list[str]:
    problems = []
    key = getattr(cls, "key", None)
    if not (isinstance(key, str) and KEY_RE.match(key)):
        problems.append(f"{what}: 'key' must be a lowercase identifier, got {key!r}")
    if not getattr(cls, "title", None):
        problems.append(f"{what}: missing 'title'")
    return problems


def _check_action(action: Any, connector: str) -> list[str]:
    if not (isinstance(action, type) and issubclass(action, sdk.Action)):
        return [f"{connector}: {action!r} is not an Action subclass"]
    what = f"{connector}.{getattr(action, 'key', action.__name__)}"
    problems = _check_identity(action, what)
    for attr in ("Input", "Output"):
        problems += _check_model(getattr(action, attr, None), f"{what}.{attr}")
    if isinstance(action.Input, type) and issubclass(action.Input, BaseModel):
        problems += _check_fields(action.Input, f"{what}.Input")
    if action.run is sdk.Action.run or not inspect.iscoroutinefunction(action.run):
        problems.append(f"{what}: 'run' must be an async method")
    return problems


def _check_trigger(trigger: Any, connector: str) -> list[str]:
    if not (isinstance(trigger, type) and issubclass(trigger, sdk.PollTrigger)):
        return [f"{connector}: {trigger!r} is not a PollTrigger subclass"]
    what = f"{connector}.{getattr(trigger, 'key', trigger.__name__)}"
    problems = _check_identity(trigger, what) + _check_model(trigger.Config, f"{what}.Config")
    if isinstance(trigger.Config, type) and issubclass(trigger.Config, BaseModel):
        problems += _check_fields(trigger.Config, f"{what}.Config")
    if not (isinstance(trigger.dedupe_key, str) and trigger.dedupe_key):
        problems.append(f"{what}: 'dedupe_key' must name an item field")
    if trigger.poll is sdk.PollTrigger.poll or not inspect.iscoroutinefunction(trigger.poll):
        problems.append(f"{what}: 'poll' must be an async method")
    return problems


def _check_credentials(creds: Any, what: str) -> list[str]:
    if not (isinstance(creds, type) and issubclass(creds, sdk.Credentials)):
        return [f"{what}: must subclass hub.Credentials"]
    problems = _check_model(creds, what) + _check_fields(creds, what)
    if creds.model_config.get("extra") != "forbid":
        problems.append(f"{what}: model_config must keep extra='forbid'")
    return problems


def check_connector(connector_cls: type[sdk.Connector]) -> None:
    """Run the connector contract suite; raise ``AssertionError`` listing every problem.

    Checks ``key``/``title``; ``Credentials`` subclasses ``hub.Credentials``, keeps
    ``extra="forbid"`` and renders to JSON Schema; it declares actions or poll triggers;
    every action's ``Input``/``Output`` and poll trigger's ``Config`` render; every
    ``Credentials``/``Input``/``Config`` field has a title or description; fields named
    like a secret are ``SecretStr``; ``run``, ``poll`` and ``check`` are async.
    """
    if not (isinstance(connector_cls, type) and issubclass(connector_cls, sdk.Connector)):
        raise AssertionError(f"{connector_cls!r} is not a hub.Connector subclass")
    what = getattr(connector_cls, "key", connector_cls.__name__)
    problems = _check_identity(connector_cls, what)
    problems += _check_credentials(connector_cls.Credentials, f"{what}.Credentials")
    if not connector_cls.actions and not connector_cls.triggers:
        problems.append(f"{what}: declares no actions")
    for action in connector_cls.actions:
        problems += _check_action(action, what)
    for trigger in connector_cls.triggers:
        problems += _check_trigger(trigger, what)
    if not inspect.iscoroutinefunction(connector_cls.check):
        problems.append(f"{what}: 'check' must be an async method")
    keys = [getattr(a, "key", None) for a in connector_cls.actions]
    if len(keys) != len(set(keys)):
        problems.append(f"{what}: duplicate action keys {keys}")
    if problems:
        raise AssertionError("connector contract failed:\n  " + "\n  ".join(problems))


def check_plugin(module: object, name: str | None = None) -> Registry:
    """Register ``module`` next to the built-ins in a fresh manager and build the registry.

    Fails (``hub.PluginError`` or ``AssertionError``) when a hookimpl is misspelled, a
    registration breaks a rule, or a registered connector fails ``check_connector``.

    Returns:
        The registry, to assert on what the plugin registered.
    """
    name = name or getattr(module, "__name__", "plugin").rsplit(".", 1)[-1]
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    pm.register(module, name=name)
    try:
        pm.check_pending()
        registry = build_registry(pm)
    finally:
        pm.unregister(name=name)
    for key in registry.registered_by(name).get("connectors", []):
        check_connector(registry.connectors[key])
    return registry
