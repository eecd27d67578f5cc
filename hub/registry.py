"""What plugins registered, validated as it arrives, with the plugin that registered it.

``build_registry(pm)`` calls every discovery hook once per plugin, so each registration is
attributed to its plugin and every error names it. A plugin's registrations are staged and
validated as a unit (``hub.rules``), then committed together: a plugin that breaks a rule
leaves nothing behind. Third-party plugins loaded from entry points are isolated (see
``hub.plugins``): one that fails is skipped and recorded on the manager, unless the manager is
strict; any other plugin that fails stops the build with ``PluginError``.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import pluggy

from hub import sdk
from hub.errors import PluginError
from hub.rules import KEY_RE, KINDS, registration_problems

__all__ = ["KEY_RE", "KINDS", "Registry", "build_registry", "plugin_error", "registry_for"]


@dataclass(eq=False)
class Registry:
    """Registered classes by key, one section per discovery hook.

    ``actions`` and ``poll_triggers`` are keyed ``<connector>.<key>``; ``owners`` maps
    ``(section, key)`` to the plugin that registered it; ``cache`` holds data derived from the
    registry (it never changes once built), e.g. the rendered catalog.
    """

    connectors: dict[str, type[sdk.Connector]] = field(default_factory=dict)
    models: dict[str, type[sdk.Model]] = field(default_factory=dict)
    guardrails: dict[str, type[sdk.Guardrail]] = field(default_factory=dict)
    trigger_kinds: dict[str, type[sdk.TriggerKind]] = field(default_factory=dict)
    signature_schemes: dict[str, type[sdk.SignatureScheme]] = field(default_factory=dict)
    actions: dict[str, type[sdk.Action]] = field(default_factory=dict)
    poll_triggers: dict[str, type[sdk.PollTrigger]] = field(default_factory=dict)
    owners: dict[tuple[str, str], str] = field(default_factory=dict)
    cache: dict[str, Any] = field(default_factory=dict, repr=False)
    _instances: dict[str, Any] = field(default_factory=dict, repr=False)

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


def plugin_error(plugin: str, reason: str) -> PluginError:
    """``PluginError("plugin '<plugin>': <reason>")``, with both kept in ``extra``."""
    reason = " ".join(str(reason).split())[:1000]
    return PluginError(f"plugin '{plugin}': {reason}", extra={"plugin": plugin,
                                                              "reason": reason})


@dataclass
class _Staged:
    """One plugin's registrations, validated but not yet in the registry."""

    plugin: str
    entries: list[tuple[str, str, Any]] = field(default_factory=list)  # (section, key, cls)
    problem: str | None = None

    def register(self, hook: str) -> Any:
        def register(cls: Any) -> None:
            problems = registration_problems(hook, cls)
            if not problems:
                section = KINDS[hook][0]
                if any(s == section and k == cls.key for s, k, _ in self.entries):
                    problems = [f"{KINDS[hook][1]} '{cls.key}' is registered twice"]
                else:
                    self.entries.append((section, cls.key, cls))
            if problems:
                more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
                self.problem = self.problem or problems[0] + more
                raise plugin_error(self.plugin, problems[0] + more)

        return register


def _expand(section: str, key: str, cls: Any) -> list[tuple[str, str, Any]]:
    out = [(section, key, cls)]
    if section == "connectors":
        out += [("actions", f"{key}.{a.key}", a) for a in cls.actions]
        out += [("poll_triggers", f"{key}.{t.key}", t) for t in cls.triggers]
    return out


def _commit(registry: Registry, staged: _Staged) -> None:
    """Add a plugin's registrations, all or nothing; a key taken by another plugin fails."""
    for section, key, _ in staged.entries:
        other = registry.owners.get((section, key))
        if other is not None:
            kind = next(k for s, k, _b, _m in KINDS.values() if s == section)
            raise plugin_error(staged.plugin, f"{kind} '{key}' is already registered by "
                               f"plugin '{other}'")
    for section, key, cls in staged.entries:
        for sub, sub_key, value in _expand(section, key, cls):
            getattr(registry, sub)[sub_key] = value
            registry.owners[(sub, sub_key)] = staged.plugin


def _collect(pm: pluggy.PluginManager, name: str, others: list[Any]) -> _Staged:
    staged = _Staged(name)
    for hook in KINDS:
        caller = pm.subset_hook_caller(hook, remove_plugins=others)
        try:
            caller(register=staged.register(hook))
        except PluginError:
            raise
        except Exception as exc:  # noqa: BLE001 - a raising hookimpl is the plugin's error
            raise plugin_error(name, f"hook {hook} raised {type(exc).__name__}: {exc}") from exc
        if staged.problem:  # the hookimpl swallowed the PluginError: still a failure
            raise plugin_error(name, staged.problem)
    return staged


def _order(pm: pluggy.PluginManager, isolated: frozenset[str]) -> list[tuple[str, Any]]:
    # Latest registered first, as pluggy calls them; isolated (third-party) plugins last so
    # that a clash with a built-in is blamed on, and skips, the third-party plugin.
    named = [(n, p) for n, p in reversed(pm.list_name_plugin()) if p is not None]
    return ([x for x in named if x[0] not in isolated]
            + [x for x in named if x[0] in isolated])


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Call every discovery hook, one plugin at a time, and return the validated registry.

    An isolated plugin that fails is handed to ``pm.skip`` (recorded, unregistered, one
    warning) unless ``pm.strict``; every other failure raises ``PluginError``.
    """
    registry = Registry()
    isolated = frozenset(getattr(pm, "isolated", ()))
    strict = bool(getattr(pm, "strict", True))
    plugins = [p for _, p in _order(pm, isolated)]
    for name, plugin in _order(pm, isolated):
        try:
            _commit(registry, _collect(pm, name, [p for p in plugins if p is not plugin]))
        except PluginError as exc:
            if name not in isolated or strict:
                raise
            pm.skip(name, exc)  # type: ignore[attr-defined]
    return registry


_BUILT: weakref.WeakKeyDictionary[Any, tuple[tuple[int, ...], Registry]] = (
    weakref.WeakKeyDictionary())


def registry_for(pm: pluggy.PluginManager) -> Registry:
    """``build_registry(pm)``, built once while ``pm`` holds the same plugins: `hub serve`
    validates the plugins before it starts the app, whose start-up then reuses the result
    (rendering every model's schema twice cost a noticeable part of the start)."""
    plugins = tuple(id(p) for _, p in pm.list_name_plugin())
    found = _BUILT.get(pm)
    if found is not None and found[0] == plugins:
        return found[1]
    registry = build_registry(pm)
    _BUILT[pm] = (tuple(id(p) for _, p in pm.list_name_plugin()), registry)  # minus skipped
    return registry
