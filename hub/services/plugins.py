"""What each plugin is and what it registered (``hub plugins list``, ``/api/v1/plugins``)."""

from __future__ import annotations

from typing import Any

import pluggy

from hub.plugins import BUILTIN_PLUGINS, entry_point_version, plugin_name, plugin_version
from hub.registry import Registry

_BUILTIN_NAMES = frozenset(plugin_name(m) for m in BUILTIN_PLUGINS)


def describe_plugins(pm: pluggy.PluginManager, registry: Registry) -> list[dict[str, Any]]:
    """One entry per loaded plugin and per third-party plugin that failed, sorted by name.

    Returns:
        ``{"name", "version", "builtin", "status", "error", "registered": {section: [keys]}}``
        per plugin; ``status`` is ``loaded`` or ``failed`` (then ``error`` says why and
        ``registered`` is empty); ``registered`` lists only non-empty sections, keys sorted
        (``actions`` and ``poll_triggers`` as ``<connector>.<key>``).
    """
    out = []
    for name, plugin in pm.list_name_plugin():
        if plugin is None:  # a blocked name
            continue
        out.append({"name": name, "version": plugin_version(pm, name),
                    "builtin": name in _BUILTIN_NAMES, "status": "loaded", "error": None,
                    "registered": registry.registered_by(name)})
    for name, reason in getattr(pm, "failures", {}).items():
        out.append({"name": name, "version": entry_point_version(name), "builtin": False,
                    "status": "failed", "error": reason, "registered": {}})
    return sorted(out, key=lambda item: (item["name"], item["status"] != "loaded"))
