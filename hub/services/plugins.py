"""What each loaded plugin is and what it registered (``hub plugins list``, ``/api/v1/plugins``)."""

from __future__ import annotations

from typing import Any

import pluggy

from hub.plugins import BUILTIN_PLUGINS, plugin_name, plugin_version
from hub.registry import Registry

_BUILTIN_NAMES = frozenset(plugin_name(m) for m in BUILTIN_PLUGINS)


def describe_plugins(pm: pluggy.PluginManager, registry: Registry) -> list[dict[str, Any]]:
    """One entry per registered plugin, sorted by name.

    Returns:
        ``{"name", "version", "builtin", "registered": {section: [keys]}}`` per plugin;
        ``registered`` lists only non-empty sections, keys sorted.
    """
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # a blocked name
            continue
        out.append({"name": name, "version": plugin_version(pm, name),
                    "builtin": name in _BUILTIN_NAMES,
                    "registered": registry.registered_by(name)})
    return sorted(out, key=lambda item: item["name"])
