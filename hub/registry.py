"""What plugins registered, validated as it arrives, with the plugin that registered it.

``build_registry(pm)`` calls every discovery hook once per plugin so each registration is
attributed to its plugin, and every error names that plugin.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field
from typing import Any

import pluggy
from pydantic import BaseModel

from hub import sdk
from hub.errors import PluginError

KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,62}$")

#: discovery hook -> (registry section, base class, models that must render to JSON Schema)
KINDS: dict[str, tuple[str, type, tuple[str, ...]]] = {
    "register_connectors": ("connectors", sdk.Connector, ("Credentials",)),
    "register_models": ("models", sdk.Model, ("Config",)),
    "register_guardrails": ("guardrails", sdk.Guardrail, ("Config",)),
    "register_trigger_kinds": ("trigger_kinds", sdk.TriggerKind, ("Config",)),
    "register_signature_schemes": ("signature_schemes", sdk.SignatureScheme, ("Config",)),
}


@dataclass
class Registry:
    """Registered classes by key, one section per discovery hook."""

    connectors: dict[str, type[sdk.Connector]] = field(default_factory=dict)
    models: dict[str, type[sdk.Model]] = field(default_factory=dict)
    guardrails: dict[str, type[sdk.Guardrail]] = field(default_factory=dict)
    trigger_kinds: dict[str, type[sdk.TriggerKind]] = field(default_factory=dict)
    signature_schemes: dict[str, type[sdk.SignatureScheme]] = field(default_factory=dict)
    actions: dict[str, type[sdk.Action]] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    _instances: dict[str, Any] = field(default_factory=dict)

    def action(self, use: str) -> type[sdk.Action] | None:
        """The action class for ``<connector>.<action>``, or ``None``."""
        return self.actions.get(use)

    def action_instance(self, use: str) -> sdk.Action:
        """A shared instance of the action (actions keep no per-call state)."""
        inst = self._instances.get(use)
        if inst is None:
            inst = self._instances[use] = self.actions[use]()
        return inst

    def connector_of(self, use: str) -> type[sdk.Connector]:
        return self.connectors[use.split(".", 1)[0]]

    def registered_by(self, plugin: str) -> dict[str, list[str]]:
        """What ``plugin`` registered, per section."""
        out: dict[str, list[str]] = {}
        for (section, key), owner in self.owners.items():
            if owner == plugin:
                out.setdefault(section, []).append(key)
        return {k: sorted(v) for k, v in sorted(out.items())}


def _fail(plugin: str, what: str, message: str) -> PluginError:
    return PluginError(f"plugin '{plugin}': {what}: {message}")


def _check_schema(plugin: str, what: str, model: Any, attr: str) -> None:
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        raise _fail(plugin, what, f"{attr} must be a pydantic model class")
    try:
        model.model_json_schema()
    except Exception as exc:  # noqa: BLE001 - any failure to render is the plugin's error
        raise _fail(plugin, what, f"{attr} does not render to JSON Schema: {exc}") from None


def _check_common(plugin: str, kind: str, cls: Any, base: type) -> str:
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise PluginError(f"plugin '{plugin}': registered {cls!r}, expected a {base.__name__} "
                          "subclass")
    key = getattr(cls, "key", None)
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise _fail(plugin, f"{kind} {cls.__name__}",
                    "'key' must be a lowercase identifier (a-z, 0-9, _)")
    if not getattr(cls, "title", None):
        raise _fail(plugin, f"{kind} '{key}'", "missing 'title'")
    return key


def _check_action(plugin: str, connector: str, action: Any) -> str:
    key = _check_common(plugin, f"connector '{connector}': action", action, sdk.Action)
    what = f"action '{connector}.{key}'"
    for attr in ("Input", "Output"):
        _check_schema(plugin, what, getattr(action, attr, None), attr)
    if not inspect.iscoroutinefunction(action.run) or action.run is sdk.Action.run:
        raise _fail(plugin, what, "'run' must be an async method")
    return key


class _Register:
    """The ``register`` callable handed to one plugin for one discovery hook."""

    def __init__(self, registry: Registry, plugin: str, hook: str) -> None:
        self.registry, self.plugin = registry, plugin
        self.section, self.base, self.models = KINDS[hook]

    def __call__(self, cls: Any) -> None:
        kind = self.section.rstrip("s").replace("_", " ")
        key = _check_common(self.plugin, kind, cls, self.base)
        for attr in self.models:
            _check_schema(self.plugin, f"{kind} '{key}'", getattr(cls, attr, None), attr)
        table: dict[str, Any] = getattr(self.registry, self.section)
        if key in table:
            other = self.registry.owners[(self.section, key)]
            raise PluginError(f"plugin '{self.plugin}': {kind} '{key}' is already registered "
                              f"by plugin '{other}'")
        if self.section == "connectors":
            self._check_oauth2(key, cls)
            self._add_actions(key, cls)
        table[key] = cls
        self.registry.owners[(self.section, key)] = self.plugin

    def _check_oauth2(self, connector: str, cls: type[sdk.Connector]) -> None:
        if cls.oauth2 is not None and not issubclass(cls.Credentials, sdk.OAuth2Credentials):
            raise _fail(self.plugin, f"connector '{connector}'", "declares 'oauth2' but its "
                        "Credentials model is not an OAuth2Credentials subclass")

    def _add_actions(self, connector: str, cls: type[sdk.Connector]) -> None:
        seen: set[str] = set()
        for action in cls.actions:
            key = _check_action(self.plugin, connector, action)
            if key in seen:
                raise _fail(self.plugin, f"connector '{connector}'", f"duplicate action '{key}'")
            seen.add(key)
        for action in cls.actions:
            self.registry.actions[f"{connector}.{action.key}"] = action


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Call every discovery hook, one plugin at a time, and return the validated registry."""
    registry = Registry()
    # Latest registered first, as pluggy calls them: third-party plugins before built-ins.
    named = [(n, p) for n, p in reversed(pm.list_name_plugin()) if p is not None]
    plugins = [p for _, p in named]
    for hook in KINDS:
        for name, plugin in named:
            others = [p for p in plugins if p is not plugin]
            caller = pm.subset_hook_caller(hook, remove_plugins=others)
            caller(register=_Register(registry, name, hook))
    return registry
