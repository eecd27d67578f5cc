"""The contract suite: the hub's registration rules (``hub.rules``) plus the form rules a
published plugin should follow, reported all at once as one ``AssertionError``."""

from __future__ import annotations

from typing import Any

import pluggy
from pydantic import BaseModel

from hub import sdk
from hub.plugins import create_plugin_manager
from hub.registry import Registry, build_registry
from hub.rules import (
    KINDS,
    is_secret_type,
    looks_secret,
    name_of,
    poll_trigger_problems,
    registration_problems,
)
from hub.testing.runner import isolated_settings

__all__ = ["check_connector", "check_plugin", "check_poll_trigger", "contract_problems",
           "looks_secret"]


def _field_problems(model: Any, what: str, *, secrets: bool = False) -> list[str]:
    """Every field has a title or description (forms need a label); optionally, fields
    named like a secret are ``SecretStr``."""
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return []
    problems = []
    for name, info in model.model_fields.items():
        if not (info.title or info.description):
            problems.append(f"{what}.{name}: needs a title or a description")
        if secrets and looks_secret(name) and not is_secret_type(info.annotation):
            problems.append(f"{what}.{name}: looks like a secret, so it must be SecretStr")
    return problems


def _overridden(cls: type, method: str, base: type, what: str) -> list[str]:
    if getattr(cls, method, None) is getattr(base, method):
        return [f"{what}: does not implement '{method}'"]
    return []


def _connector_form(cls: type[sdk.Connector]) -> list[str]:
    what = name_of("connector", cls)
    problems = []
    creds = cls.Credentials
    if isinstance(creds, type) and issubclass(creds, BaseModel):
        problems += _field_problems(creds, f"{what}: Credentials")
        if creds.model_config.get("extra") != "forbid":
            problems.append(f"{what}: Credentials must keep model_config extra='forbid'")
    if not (cls.actions or cls.triggers):
        problems.append(f"{what}: declares no actions and no poll triggers")
    for action in cls.actions:
        if isinstance(action, type) and issubclass(action, sdk.Action):
            label = name_of("action", action, f"{cls.key}.")
            problems += _field_problems(action.Input, f"{label}: Input", secrets=True)
    for trigger in cls.triggers:
        if isinstance(trigger, type) and issubclass(trigger, sdk.PollTrigger):
            label = name_of("poll trigger", trigger, f"{cls.key}.")
            problems += _field_problems(trigger.Config, f"{label}: Config", secrets=True)
    return problems


_KIND_METHODS = {sdk.Model: "call", sdk.Guardrail: "check"}


def _kind_form(cls: Any, kind: str) -> list[str]:
    what = name_of(kind, cls)
    problems = _field_problems(getattr(cls, "Config", None), f"{what}: Config", secrets=True)
    for base, method in _KIND_METHODS.items():
        if isinstance(cls, type) and issubclass(cls, base):
            problems += _overridden(cls, method, base, what)
    return problems


def contract_problems(hook: str, cls: Any) -> list[str]:
    """Every problem with ``cls`` registered through ``hook``: hub rules, then form rules."""
    problems = registration_problems(hook, cls)
    if problems and problems[0].startswith("registered "):
        return problems
    if hook == "register_connectors":
        return problems + _connector_form(cls)
    return problems + _kind_form(cls, KINDS[hook][1])


def _raise(problems: list[str], what: str) -> None:
    if problems:
        raise AssertionError(f"{what} contract failed:\n  " + "\n  ".join(problems))


def check_connector(connector_cls: type[sdk.Connector]) -> None:
    """Run the connector contract suite; raise ``AssertionError`` listing every problem.

    The hub's own rules (key, title, schemas render, ``SecretStr`` secrets, async ``run``,
    ``check`` and ``poll`` with the right parameters, unique action and trigger keys) plus
    the form rules: every credentials, input and trigger config field has a title or a
    description, credentials keep ``extra="forbid"``, the connector has an action or a
    poll trigger.
    """
    if not (isinstance(connector_cls, type) and issubclass(connector_cls, sdk.Connector)):
        raise AssertionError(f"{connector_cls!r} is not a hub.Connector subclass")
    _raise(contract_problems("register_connectors", connector_cls), "connector")


def check_poll_trigger(trigger_cls: type[sdk.PollTrigger], connector: str = "test") -> None:
    """The poll trigger rules alone (the connector suite includes them)."""
    problems = poll_trigger_problems(trigger_cls, connector)
    if not problems:
        problems = _field_problems(trigger_cls.Config,
                                   f"{name_of('poll trigger', trigger_cls, connector + '.')}: "
                                   "Config", secrets=True)
    _raise(problems, "poll trigger")


def _registered(pm: pluggy.PluginManager, name: str) -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []

    def collect(hook: str) -> Any:
        return lambda cls: out.append((hook, cls))

    others = [p for n, p in pm.list_name_plugin() if n != name and p is not None]
    for hook in KINDS:
        pm.subset_hook_caller(hook, remove_plugins=others)(register=collect(hook))
    return out


def check_plugin(module: object, name: str | None = None) -> Registry:
    """Register ``module`` next to the built-ins in a fresh manager, build the registry, and
    run the contract suite over everything it registered (connectors with their actions and
    poll triggers, models, guardrails, trigger kinds, signature schemes).

    Fails with ``hub.PluginError`` when the hub itself would refuse the plugin (misspelled
    hookimpl, broken rule, key clash) and with ``AssertionError`` listing the form problems.

    Returns:
        The registry, to assert on what the plugin registered.
    """
    name = name or getattr(module, "__name__", "plugin").rsplit(".", 1)[-1]
    pm = create_plugin_manager(load_entrypoints=False, settings=isolated_settings())
    pm.register(module, name=name)
    try:
        pm.check_pending()
        registry = build_registry(pm)
        problems = [p for hook, cls in _registered(pm, name) for p in contract_problems(hook, cls)]
    finally:
        pm.unregister(name=name)
    _raise(problems, f"plugin '{name}'")
    return registry

