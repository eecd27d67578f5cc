"""The plugin manager factory and the list of built-in plugins.

Nothing is loaded at import time and there is no module-level manager: every hub (and every
test) builds its own with ``create_plugin_manager``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable
from typing import Any

import pluggy

from hub import hookspecs
from hub.errors import PluginError
from hub.registry import plugin_error
from hub.settings import Settings

#: The entry point group third-party plugins register under. Never renamed.
ENTRYPOINT_GROUP = "zaphub"

#: Built-in plugins by dotted module name; the plugin's name is the last component.
BUILTIN_PLUGINS: tuple[str, ...] = (
    "hub.secrets",
    "hub_plugins.core",
    "hub_triggers.manual",
    "hub_plugins.signatures",
    "hub_triggers.webhook",
    "hub_triggers.schedule",
    "hub_triggers.poll",
    "hub_plugins.guardrails",
    "hub_plugins.openai_compat",
    "hub_plugins.anthropic",
    "hub_plugins.local_model",
    "hub_plugins.ai_steps",
    "hub_plugins.http",
    "hub_plugins.feed",
    "hub_plugins.slack",
    "hub_plugins.github",
    "hub_plugins.stripe",
    "hub_plugins.email",
    "hub_plugins.google_sheets",
    "hub_plugins.tables",
)

#: Built-ins that cannot be disabled.
ESSENTIAL_PLUGINS: frozenset[str] = frozenset({"secrets", "core", "manual"})

log = logging.getLogger("hub.plugins")


def plugin_name(module_name: str) -> str:
    """The registered name of a built-in module: its last dotted component."""
    return module_name.rsplit(".", 1)[-1]


def _check_names(load: tuple[str, ...], disabled: Iterable[str]) -> None:
    essential = sorted(set(disabled) & ESSENTIAL_PLUGINS)
    if essential:
        raise PluginError(f"plugin '{essential[0]}' is essential and cannot be disabled "
                          "(remove it from HUB_DISABLED_PLUGINS)")


def _wanted(name: str, load: tuple[str, ...]) -> bool:
    return not load or name in load or name in ESSENTIAL_PLUGINS


class HubPluginManager(pluggy.PluginManager):
    """A pluggy manager that also knows which plugins are third-party and which failed.

    ``isolated``: names of plugins loaded from entry points; one of them that fails to load,
    register or validate is skipped (``skip``) unless ``strict``. ``failures`` maps each
    skipped plugin to the reason, for ``hub plugins list`` and ``/api/v1/plugins``.
    """

    def __init__(self, *, strict: bool = False) -> None:
        super().__init__(hookspecs.PROJECT)
        self.strict = strict
        self.isolated: set[str] = set()
        self.failures: dict[str, str] = {}

    def skip(self, name: str, error: BaseException, *, unregister: bool = True) -> None:
        """Record ``name`` as failed, unregister it and log one warning line (a traceback
        only at DEBUG)."""
        reason = error.extra.get("reason") if isinstance(error, PluginError) else None
        reason = reason or " ".join(f"{type(error).__name__}: {error}".split())[:1000]
        self.failures[name] = reason
        if unregister and self.has_plugin(name):
            self.unregister(name=name)
        log.warning("plugin '%s' skipped: %s", name, reason)
        cause = error.__cause__ or error
        if log.isEnabledFor(logging.DEBUG) and cause.__traceback__ is not None:
            log.debug("plugin '%s' failed here", name, exc_info=cause)


def create_plugin_manager(*, load_entrypoints: bool = True, blocked: Iterable[str] = (),
                          settings: Settings | None = None) -> HubPluginManager:
    """Build a fresh plugin manager with the built-ins and (optionally) entry-point plugins.

    Built-ins register first, then entry points (pluggy calls later registrations first, so
    third-party plugins run before built-ins). ``blocked`` adds to ``HUB_DISABLED_PLUGINS``;
    ``HUB_LOAD_PLUGINS`` restricts loading to the named plugins plus the essential ones.
    Ends with ``check_pending()`` so a misspelled hookimpl fails here. A built-in that fails
    raises ``PluginError``; an entry-point plugin that fails is skipped with a warning
    (``HUB_STRICT_PLUGINS=1``: it raises too).
    """
    settings = settings or Settings()
    load = settings.load_plugin_names
    disabled = set(settings.disabled_plugin_names) | set(blocked)
    _check_names(load, disabled)
    pm = HubPluginManager(strict=settings.strict_plugins)
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    for module_name in BUILTIN_PLUGINS:
        name = plugin_name(module_name)
        if _wanted(name, load) and not pm.is_blocked(name):
            _register(pm, _import_builtin(module_name, name), name)
    if load_entrypoints:
        _load_entrypoints(pm, load)
    if settings.trace_plugins:
        _enable_tracing(pm)
    _check_pending(pm)
    return pm


def _import_builtin(module_name: str, name: str) -> object:
    try:
        return importlib.import_module(module_name)
    except Exception as exc:  # noqa: BLE001 - name the built-in, then stop
        raise plugin_error(name, f"cannot be loaded: {type(exc).__name__}: {exc}") from exc


def _check_pending(pm: HubPluginManager) -> None:
    """``pm.check_pending()``; an isolated plugin with an unknown hook is skipped."""
    for _ in range(len(pm.get_plugins()) + 1):
        try:
            pm.check_pending()
            return
        except pluggy.PluginValidationError as exc:
            name = pm.get_name(exc.plugin) or "?"
            error = plugin_error(name, str(exc))
            if name not in pm.isolated or pm.strict:
                raise error from None
            pm.skip(name, error)


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin`` as ``name``; a hookimpl that does not match its spec names it."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise plugin_error(name, str(exc)) from None


def _load_one(pm: HubPluginManager, ep: Any) -> None:
    if pm.has_plugin(ep.name):
        raise plugin_error(ep.name, "the name is already taken by another plugin; rename "
                           "the entry point")
    try:
        plugin = ep.load()
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - report which plugin failed
        raise plugin_error(ep.name, f"cannot be loaded: {type(exc).__name__}: {exc}") from exc
    _register(pm, plugin, ep.name)


def _load_entrypoints(pm: HubPluginManager, load: tuple[str, ...]) -> None:
    # Not pm.load_setuptools_entrypoints: it rescans every distribution per call, and a
    # name clash with a built-in must be an error rather than a silent skip.
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRYPOINT_GROUP):
        if not _wanted(ep.name, load) or pm.is_blocked(ep.name):
            continue
        taken = pm.has_plugin(ep.name)  # the plugin holding the name stays
        if not taken:
            pm.isolated.add(ep.name)
        try:
            _load_one(pm, ep)
        except PluginError as exc:
            if pm.strict:
                raise
            pm.skip(ep.name, exc, unregister=not taken)


def plugin_version(pm: pluggy.PluginManager, name: str) -> str | None:
    """The version of the distribution that provides plugin ``name`` (``None`` if unknown)."""
    if any(plugin_name(m) == name for m in BUILTIN_PLUGINS):
        from hub import __version__

        return __version__
    found = entry_point_version(name)
    if found is not None:
        return found
    for plugin, dist in pm.list_plugin_distinfo():
        if pm.get_name(plugin) == name:
            return str(dist.version)
    return None


def entry_point_version(name: str) -> str | None:
    """The version of the distribution declaring entry point ``name`` in the group."""
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRYPOINT_GROUP, name=name):
        if ep.dist is not None:
            return str(ep.dist.version)
    return None


def _enable_tracing(pm: pluggy.PluginManager) -> None:
    trace_log = logging.getLogger("hub.plugins.trace")

    def before(hook_name, hook_impls, kwargs):  # type: ignore[no-untyped-def]
        names = [impl.plugin_name for impl in hook_impls]
        trace_log.info("hook %s -> %s", hook_name, ", ".join(names))

    def after(outcome, hook_name, hook_impls, kwargs):  # type: ignore[no-untyped-def]
        try:
            result = outcome.get_result()
        except BaseException as exc:  # noqa: BLE001 - tracing only reports
            trace_log.info("hook %s raised %s", hook_name, type(exc).__name__)
            return
        trace_log.info("hook %s returned %r", hook_name, result)

    pm.add_hookcall_monitoring(before, after)
