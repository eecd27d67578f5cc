"""Every hookspec is documented and tested; one real test per hook (``test_hook_<name>``)."""

from __future__ import annotations

import ast
import base64
import functools
import inspect
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pluggy
import pytest

from hub import HubError, hookimpl, hookspecs
from hub.context import Hub
from hub.engine.worker import Worker
from hub.plugins import create_plugin_manager
from hub.registry import Registry, build_registry
from hub.secrets import KeyRingStore, key_id_for
from hub.services import identity, runs, zaps
from hub.settings import Settings
from hub.testing.people import owner_token
from plugins import sample

TESTS = Path(__file__).parent


def hookspec_names() -> list[str]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    return sorted(name for name in dir(hookspecs)
                  if pm.parse_hookspec_opts(hookspecs, name) is not None)


def test_hookspecs_found() -> None:
    assert "register_connectors" in hookspec_names()
    assert "secret_store" in hookspec_names()


@pytest.mark.parametrize("name", hookspec_names())
def test_hookspec_documented(name: str) -> None:
    doc = inspect.getdoc(getattr(hookspecs, name)) or ""
    summary = doc.split("\n", 1)[0]
    assert summary.strip(), f"hookspec {name} has no summary line"
    for section in ("Args:", "Returns:", "Example"):
        assert section in doc, f"hookspec {name}'s docstring lacks {section!r}"
    for arg in inspect.signature(getattr(hookspecs, name)).parameters:
        assert f"{arg}:" in doc, f"hookspec {name} does not document argument {arg!r}"


@functools.cache
def _test_function_names() -> frozenset[str]:
    names: set[str] = set()
    for path in TESTS.rglob("*.py"):
        try:
            tree = ast.parse(path.read_text(), filename=str(path))
        except SyntaxError:  # pytest reports the file itself when it collects it
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(node.name)
    return frozenset(names)


@pytest.mark.parametrize("name", hookspec_names())
def test_hookspec_tested(name: str) -> None:
    assert f"test_hook_{name}" in _test_function_names(), (
        f"hookspec {name} has no test named test_hook_{name} under tests/")


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture
def recorder() -> sample.Recorder:
    return sample.Recorder()


@pytest.fixture
def pm(recorder: sample.Recorder, tmp_path: Path) -> Iterator[pluggy.PluginManager]:
    """A fresh manager with the built-ins and the sample plugin registered as ``sample``."""
    manager = create_plugin_manager(load_entrypoints=False, settings=Settings(data_dir=tmp_path))
    manager.register(recorder, name="sample")
    try:
        yield manager
    finally:
        manager.unregister(name="sample")


@pytest.fixture
def registry(pm: pluggy.PluginManager) -> Registry:
    return build_registry(pm)


def _assert_registered(registry: Registry, section: str, key: str, cls: type) -> None:
    assert getattr(registry, section)[key] is cls
    assert registry.owners[(section, key)] == "sample"
    assert key in registry.registered_by("sample")[section]


# --- discovery hooks ------------------------------------------------------------------------


def test_hook_register_connectors(registry: Registry) -> None:
    _assert_registered(registry, "connectors", "sample", sample.SampleConnector)
    assert registry.action("sample.ping") is sample.Ping
    assert registry.connector_of("sample.ping") is sample.SampleConnector
    assert registry.owners[("connectors", "core")] == "core"
    assert "sample" not in registry.registered_by("core").get("connectors", [])


def test_hook_register_models(registry: Registry) -> None:
    _assert_registered(registry, "models", "sample_model", sample.SampleModel)


def test_hook_register_guardrails(registry: Registry) -> None:
    _assert_registered(registry, "guardrails", "sample_guardrail", sample.SampleGuardrail)


def test_hook_register_trigger_kinds(registry: Registry) -> None:
    _assert_registered(registry, "trigger_kinds", "sample_trigger", sample.SampleTrigger)
    assert registry.owners[("trigger_kinds", "manual")] == "manual"


def test_hook_register_signature_schemes(registry: Registry) -> None:
    _assert_registered(registry, "signature_schemes", "sample_signature",
                       sample.SampleSignature)


def test_registrations_gone_after_unregister(pm: pluggy.PluginManager) -> None:
    pm.unregister(name="sample")
    try:
        registry = build_registry(pm)
        assert "sample" not in registry.connectors
        assert registry.registered_by("sample") == {}
    finally:
        pm.register(sample.Recorder(), name="sample")


# --- lifecycle hooks ------------------------------------------------------------------------


async def test_hook_startup(settings: Settings, pm: pluggy.PluginManager,
                            recorder: sample.Recorder) -> None:
    hub = await Hub.open(settings, pm=pm)
    try:
        assert recorder.calls == ["startup"]
        assert hub.registry.owners[("connectors", "sample")] == "sample"
    finally:
        await hub.close()


async def test_hook_shutdown(settings: Settings, pm: pluggy.PluginManager,
                             recorder: sample.Recorder) -> None:
    hub = await Hub.open(settings, pm=pm)
    await hub.close()
    assert recorder.calls == ["startup", "shutdown"]


ZAP = {"name": "two steps", "trigger": {"kind": "manual"},
       "steps": [{"id": "first", "use": "core.transform", "input": {"n": "{{ trigger.n }}"}},
                 {"id": "second", "use": "core.transform", "input": {"ok": True}}]}


async def _run_once(hub: Hub) -> tuple[str, str, str]:
    token = await owner_token(hub)
    principal = await identity.authenticate(hub, token)
    ws = principal.workspace_id
    zap = await zaps.create_zap(hub, workspace_id=ws, document=ZAP)
    run = await runs.start_run(hub, workspace_id=ws, zap_id=zap["id"], data={"n": 1})
    worker = Worker(hub)
    try:
        await worker.run_until_idle(timeout=30)
    finally:
        await worker.stop()
    return ws, zap["id"], run["id"]


async def test_hook_track_event(settings: Settings, pm: pluggy.PluginManager,
                                recorder: sample.Recorder) -> None:
    hub = await Hub.open(settings, pm=pm)
    try:
        ws, zap_id, run_id = await _run_once(hub)
        final = await runs.get_run(hub, workspace_id=ws, run_id=run_id)
    finally:
        await hub.close()
    assert final["status"] == "succeeded"
    types = [e["type"] for e in recorder.events]
    assert types == ["run.started", "step.finished", "step.finished", "run.finished"]
    for event in recorder.events:
        assert (event["run_id"], event["zap_id"], event["workspace_id"]) == (run_id, zap_id, ws)
        assert not {"input", "output", "trigger", "data"} & set(event), event
    steps = [e for e in recorder.events if e["type"] == "step.finished"]
    assert [e["step_id"] for e in steps] == ["first", "second"]
    assert all(e["status"] == "succeeded" for e in steps)
    assert recorder.events[-1]["status"] == "succeeded"


class _Raises:
    @hookimpl
    def track_event(self, hub: Any, event: dict[str, Any]) -> None:
        raise RuntimeError("observer bug")


async def test_track_event_observer_error_does_not_break_runs(
        settings: Settings, pm: pluggy.PluginManager) -> None:
    pm.register(_Raises(), name="raises")
    try:
        hub = await Hub.open(settings, pm=pm)
        try:
            ws, _, run_id = await _run_once(hub)
            final = await runs.get_run(hub, workspace_id=ws, run_id=run_id)
        finally:
            await hub.close()
    finally:
        pm.unregister(name="raises")
    assert final["status"] == "succeeded"


# --- secret_store (firstresult) -------------------------------------------------------------


async def test_hook_secret_store(tmp_path: Path) -> None:
    """A plugin's store wins over the built-in, which is ``trylast``."""
    settings = Settings(data_dir=tmp_path)
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    pm.register(sample.Recorder(provide_store=True), name="vault")
    try:
        store = pm.hook.secret_store(settings=settings)
        assert isinstance(store, sample.FixedStore)
        hub = await Hub.open(settings, pm=pm)
        try:
            assert isinstance(hub.secrets, sample.FixedStore)
        finally:
            await hub.close()
        assert not (tmp_path / "master.key").exists()
    finally:
        pm.unregister(name="vault")


def test_secret_store_none_defers_to_builtin(pm: pluggy.PluginManager, tmp_path: Path) -> None:
    store = pm.hook.secret_store(settings=Settings(data_dir=tmp_path))
    assert isinstance(store, KeyRingStore)


def test_builtin_secret_store_creates_key_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    store = pm.hook.secret_store(settings=settings)
    path = tmp_path / "data" / "master.key"
    with pytest.raises(HubError) as exc:  # only on request (a database without data keys)
        store.current_key_id()
    assert exc.value.code == "missing_key" and not path.exists()
    store.ensure_key()
    key_id = store.current_key_id()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = base64.b64decode(path.read_text())
    assert len(key) == 32 and key_id == key_id_for(key)
    again = pm.hook.secret_store(settings=settings)
    assert again.current_key_id() == key_id and again.get_key(key_id) == key
    with pytest.raises(KeyError):
        again.get_key("k1-unknown")


def test_builtin_secret_store_uses_master_key(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    key = bytes(range(32))
    monkeypatch.setenv("HUB_MASTER_KEY", base64.b64encode(key).decode())
    settings = Settings(data_dir=tmp_path)
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    store = pm.hook.secret_store(settings=settings)
    assert store.get_key(store.current_key_id()) == key
    assert not (tmp_path / "master.key").exists()


def test_builtin_secret_store_rejects_short_key(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, master_key=base64.b64encode(b"short").decode())
    pm = create_plugin_manager(load_entrypoints=False, settings=settings)
    store = pm.hook.secret_store(settings=settings)
    with pytest.raises(HubError, match="32 bytes"):
        store.current_key_id()
