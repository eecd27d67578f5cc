"""The pytest fixtures of ``hub.testing`` (a pytest plugin, loaded through the ``pytest11``
entry point wherever zaphub is installed).

Tell them which plugin is under test by overriding ``hub_plugin`` in your ``conftest.py``::

    @pytest.fixture
    def hub_plugin():
        import zaphub_acme
        return zaphub_acme
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pluggy
import pytest

from hub import sdk
from hub.plugins import create_plugin_manager
from hub.registry import Registry, build_registry
from hub.testing.people import owner_token
from hub.testing.runner import LOOPBACK, isolated_settings, step_context


def _fresh_manager() -> pluggy.PluginManager:
    return create_plugin_manager(load_entrypoints=False, settings=isolated_settings())


def _release(pm: pluggy.PluginManager) -> None:
    for name, plugin in list(pm.list_name_plugin()):
        if plugin is not None:
            pm.unregister(name=name)


@pytest.fixture
def hub_pm() -> Iterator[pluggy.PluginManager]:
    """A fresh plugin manager with the built-ins and no entry-point plugins.

    Register your plugin with ``hub_pm.register(module, name="acme")``; it is discarded
    after the test.
    """
    pm = _fresh_manager()
    try:
        yield pm
    finally:
        _release(pm)


@pytest.fixture
def hub_plugin() -> object:
    """The plugin under test (a module or object with hookimpls): override this fixture."""
    pytest.fail("define a `hub_plugin` fixture in your conftest.py that returns your plugin "
                "module (e.g. `import zaphub_acme; return zaphub_acme`)")


@pytest.fixture
def hub_plugin_name(hub_plugin: object) -> str:
    """The plugin's name: its module name without the ``zaphub_`` prefix (override it to
    match your entry point name if it differs)."""
    module = getattr(hub_plugin, "__name__", type(hub_plugin).__name__)
    return module.rsplit(".", 1)[-1].removeprefix("zaphub_")


@pytest.fixture
def hub_plugin_pm(hub_plugin: object, hub_plugin_name: str) -> Iterator[pluggy.PluginManager]:
    """A fresh plugin manager with the built-ins and the plugin under test registered."""
    pm = _fresh_manager()
    pm.register(hub_plugin, name=hub_plugin_name)
    try:
        pm.check_pending()
        yield pm
    finally:
        _release(pm)


@pytest.fixture
def hub_registry(hub_plugin_pm: pluggy.PluginManager) -> Registry:
    """The validated registry of ``hub_plugin_pm`` (what a hub with the plugin would have)."""
    return build_registry(hub_plugin_pm)


@pytest.fixture
def hub_context() -> Callable[..., sdk.StepContext]:
    """Build a ``StepContext``: ``hub_context(creds=..., http=..., attempt=2)``."""
    return step_context


@dataclass
class HubApp:
    """A running hub app (lifespan started) and a client authenticated as its owner."""

    client: httpx.AsyncClient
    token: str
    workspace_id: str
    hub: Any


@pytest.fixture
def hub_app(hub_plugin_pm: pluggy.PluginManager,
            tmp_path: Path) -> Callable[..., Any]:
    """Start the whole app with the plugin under test, on a temporary SQLite database::

        async with hub_app() as app:
            r = await app.client.get("/api/v1/catalog")

    The client sends the owner's token of the first workspace. Outbound calls may reach
    loopback (fake upstreams). Keyword arguments override settings (``HUB_*`` names in
    lower case, e.g. ``run_scheduler=True``).
    """

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[HubApp]:
        from hub.web.app import create_app

        values = {"data_dir": tmp_path / "hub", "egress_allow": LOOPBACK,
                  "run_scheduler": False, "poll_interval": 0.05, **overrides}
        app = create_app(isolated_settings(**values), pm=hub_plugin_pm,
                         on_setup_token=lambda token, _settings: None)
        async with app.router.lifespan_context(app):
            token = await owner_token(app.state.hub)
            headers = {"Authorization": f"Bearer {token}"}
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test",
                                         headers=headers) as client:
                me = (await client.get("/api/v1/me")).json()
                yield HubApp(client, token, me["workspace_id"], app.state.hub)

    return start
