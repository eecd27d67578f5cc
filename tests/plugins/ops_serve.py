"""``hub`` with the engine test plugin built in: ``python ops_serve.py serve`` (shutdown tests)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent.parent))

from hub import plugins as hub_plugins  # noqa: E402 - after the path setup above
from hub.cli import app  # noqa: E402

if __name__ == "__main__":
    hub_plugins.BUILTIN_PLUGINS = (*hub_plugins.BUILTIN_PLUGINS, "plugins.engine_fixtures")
    app()
