"""describe_plugins: what ``hub plugins list`` and ``GET /api/v1/plugins`` show."""

from __future__ import annotations

import json

import hub
from hub.plugins import create_plugin_manager
from hub.registry import build_registry
from hub.services.plugins import describe_plugins
from hub.settings import Settings
from plugins import sample


def test_describe_plugins() -> None:
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    pm.register(sample.Recorder(), name="zz_sample")
    try:
        described = describe_plugins(pm, build_registry(pm))
    finally:
        pm.unregister(name="zz_sample")
    names = [item["name"] for item in described]
    assert names == sorted(names)
    assert {"core", "manual", "secrets", "zz_sample"} <= set(names)
    assert all(by["builtin"] for by in described if by["name"] != "zz_sample")
    by_name = {item["name"]: item for item in described}
    assert by_name["core"] == {"name": "core", "version": hub.__version__, "builtin": True,
                               "status": "loaded", "error": None,
                               "registered": {"actions": [
                                   "core.call_zap", "core.delay", "core.filter", "core.loop",
                                   "core.paths", "core.transform"], "connectors": ["core"]}}
    assert by_name["manual"]["registered"] == {"trigger_kinds": ["manual"]}
    assert by_name["secrets"]["registered"] == {}
    assert by_name["zz_sample"] == {
        "name": "zz_sample", "version": None, "builtin": False, "status": "loaded",
        "error": None,
        "registered": {"actions": ["sample.ping"], "connectors": ["sample"],
                       "guardrails": ["sample_guardrail"],
                       "models": ["sample_model"], "signature_schemes": ["sample_signature"],
                       "trigger_kinds": ["sample_trigger"]}}
    json.dumps(described)  # plain data, ready for --json and the API


def test_describe_skips_blocked_names() -> None:
    pm = create_plugin_manager(load_entrypoints=False, blocked=["gone"], settings=Settings())
    described = describe_plugins(pm, build_registry(pm))
    assert "gone" not in [item["name"] for item in described]
