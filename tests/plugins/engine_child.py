"""A worker process for the recovery tests: ``python engine_child.py`` with HUB_* settings.

Opens the hub on the database the settings name, with the engine test plugin, and runs a
worker until it is killed. ``ENGINE_FIXTURES_BLOCK=<step id>`` makes that step hang after
its side effect, so the test can kill this process mid-step.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import engine_fixtures  # noqa: E402 - after the path setup above

from hub.context import Hub  # noqa: E402
from hub.engine.worker import Worker  # noqa: E402
from hub.plugins import create_plugin_manager  # noqa: E402
from hub.settings import Settings  # noqa: E402


async def main() -> None:
    settings = Settings()
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(engine_fixtures, name="enginefixtures")
    hub = await Hub.open(settings, pm=pm, migrate=False)
    worker = hub.worker = Worker(hub, poll_interval=0.02)
    worker.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
