"""Test helpers for plugin authors: a pytest plugin, the contract suite and runners.

Installing zaphub registers this module as a pytest plugin (entry point ``hub.testing`` in
the ``pytest11`` group), so its fixtures are available in every test; with an older install,
add ``pytest_plugins = ["hub.testing"]`` to your top-level ``conftest.py`` (both together
are fine). Override ``hub_plugin`` to name the plugin under test, then::

    from hub.testing import check_plugin, run_action, run_poll

    def test_contract(hub_plugin):
        check_plugin(hub_plugin, name="acme")

    async def test_create(hub_registry, upstream):
        out = await run_action("acme.create_ticket", {"subject": "Hi"},
                               registry=hub_registry, creds={"api_key": "k",
                                                             "base_url": upstream.url})

Fixtures: ``hub_pm`` (built-ins only), ``hub_plugin`` (override it), ``hub_plugin_name``,
``hub_plugin_pm`` (built-ins plus the plugin under test), ``hub_registry``, ``hub_context``
(a ``StepContext`` builder) and ``hub_app`` (the whole app with a workspace and a token).
"""

from __future__ import annotations

from hub.testing.contract import (
    check_connector,
    check_plugin,
    check_poll_trigger,
    contract_problems,
    looks_secret,
)
from hub.testing.fixtures import (
    HubApp,
    hub_app,
    hub_context,
    hub_plugin,
    hub_plugin_name,
    hub_plugin_pm,
    hub_pm,
    hub_registry,
)
from hub.testing.runner import (
    LOOPBACK,
    Egress,
    egress_client,
    run_action,
    run_poll,
    step_context,
)

__all__ = [
    "LOOPBACK", "Egress", "HubApp", "check_connector", "check_plugin", "check_poll_trigger",
    "contract_problems", "egress_client", "hub_app", "hub_context", "hub_plugin",
    "hub_plugin_name", "hub_plugin_pm", "hub_pm", "hub_registry", "looks_secret",
    "run_action", "run_poll", "step_context",
]
