"""The plugin manager factory and the list of built-in plugins.

Nothing is loaded at import time and there is no module-level manager: every hub (and every
test) builds its own with ``create_plugin_manager``.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Iterable

import pluggy

from hub import hookspecs
from hub.errors import PluginError
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


def create_plugin_manager(*, load_entrypoints: bool = True, blocked: Iterable[str] = (),
                          settings: Settings | None = None) -> pluggy.PluginManager:
    """Build a fresh plugin manager with the built-ins and (optionally) entry-point plugins.

    Built-ins register first, then entry points (pluggy calls later registrations first, so
    third-party plugins run before built-ins). ``blocked`` adds to ``HUB_DISABLED_PLUGINS``;
    ``HUB_LOAD_PLUGINS`` restricts loading to the named plugins plus the essential ones.
    Ends with ``check_pending()`` so a misspelled hookimpl fails here.
    """
    settings = settings or Settings()
    load = settings.load_plugin_names
    disabled = set(settings.disabled_plugin_names) | set(blocked)
    _check_names(load, disabled)
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in disabled:
        pm.set_blocked(name)
    for module_name in BUILTIN_PLUGINS:
        name = plugin_name(module_name)
        if _wanted(name, load) and not pm.is_blocked(name):
            _register(pm, importlib.import_module(module_name), name)
    if load_entrypoints:
        _load_entrypoints(pm, load)
    if settings.trace_plugins:
        _enable_tracing(pm)
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin '{pm.get_name(exc.plugin)}': {exc}") from None
    return pm


def _register(pm: pluggy.PluginManager, plugin: object, name: str) -> None:
    """Register ``plugin`` as ``name``; a hookimpl that does not match its spec names it."""
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin '{name}': {exc}") from None


def _load_entrypoints(pm: pluggy.PluginManager, load: tuple[str, ...]) -> None:
    # Not pm.load_setuptools_entrypoints: it rescans every distribution per call, and a
    # name clash with a built-in must be an error rather than a silent skip.
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRYPOINT_GROUP):
        if not _wanted(ep.name, load) or pm.is_blocked(ep.name):
            continue
        if pm.has_plugin(ep.name):
            raise PluginError(f"plugin '{ep.name}': the name is already taken by another "
                              "plugin; rename the entry point")
        try:
            plugin = ep.load()
        except Exception as exc:  # noqa: BLE001 - report which plugin failed, then stop
            raise PluginError(f"plugin '{ep.name}': cannot be loaded: {exc}") from exc
        _register(pm, plugin, ep.name)


def plugin_version(pm: pluggy.PluginManager, name: str) -> str | None:
    """The version of the distribution that provides plugin ``name`` (``None`` if unknown)."""
    from importlib.metadata import entry_points

    if any(plugin_name(m) == name for m in BUILTIN_PLUGINS):
        from hub import __version__

        return __version__
    for ep in entry_points(group=ENTRYPOINT_GROUP, name=name):
        if ep.dist is not None:
            return str(ep.dist.version)
    for plugin, dist in pm.list_plugin_distinfo():
        if pm.get_name(plugin) == name:
            return str(dist.version)
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
