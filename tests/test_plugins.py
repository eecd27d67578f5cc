"""create_plugin_manager: built-ins, entry points, disabling, restricting, tracing, errors."""

from __future__ import annotations

import importlib
import importlib.metadata
import logging
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

import hub
from hub.errors import PluginError
from hub.plugins import (
    BUILTIN_PLUGINS,
    ENTRYPOINT_GROUP,
    ESSENTIAL_PLUGINS,
    create_plugin_manager,
    plugin_name,
    plugin_version,
)
from hub.registry import build_registry
from hub.settings import Settings
from plugins import sample


@dataclass
class FakeDist:
    version: str


@dataclass
class FakeEntryPoint:
    """Stands in for ``importlib.metadata.EntryPoint`` (name, group, dist, load)."""

    name: str
    target: Callable[[], Any]
    group: str = ENTRYPOINT_GROUP
    dist: FakeDist | None = None

    def load(self) -> Any:
        return self.target()


def _module(name: str) -> Callable[[], ModuleType]:
    return lambda: importlib.import_module(f"plugins.{name}")


def _recorder() -> sample.Recorder:
    return sample.Recorder()


@pytest.fixture
def entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    """The installed entry points, as the plugin loader sees them; append to add one."""
    installed: list[FakeEntryPoint] = []

    def fake(**params: str) -> list[FakeEntryPoint]:
        return [ep for ep in installed if all(getattr(ep, k) == v for k, v in params.items())]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    return installed


def test_builtins_loaded() -> None:
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    names = {name for name, _ in pm.list_name_plugin()}
    assert names == {plugin_name(m) for m in BUILTIN_PLUGINS}
    assert pm.get_plugin("core") is importlib.import_module("hub_plugins.core")
    assert pm.get_plugin("secrets") is importlib.import_module("hub.secrets")


def test_builtins_are_essential() -> None:
    assert {plugin_name(m) for m in BUILTIN_PLUGINS} >= ESSENTIAL_PLUGINS


def test_each_manager_is_fresh() -> None:
    first = create_plugin_manager(load_entrypoints=False)
    first.register(sample.Recorder(), name="sample")
    second = create_plugin_manager(load_entrypoints=False)
    assert not second.has_plugin("sample")


def test_entry_point_plugin_loaded(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("sample", _recorder, dist=FakeDist("1.2.3")))
    pm = create_plugin_manager(settings=Settings())
    assert isinstance(pm.get_plugin("sample"), sample.Recorder)
    assert build_registry(pm).owners[("connectors", "sample")] == "sample"


def test_entry_points_run_before_builtins(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("sample", _recorder))
    pm = create_plugin_manager(settings=Settings())
    order = [impl.plugin_name for impl in reversed(pm.hook.register_connectors.get_hookimpls())]
    assert order.index("sample") < order.index("core")


@pytest.mark.parametrize("how", ["blocked", "env"])
def test_disabled_plugin_not_loaded(how: str, entry_points: list[FakeEntryPoint],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    entry_points.append(FakeEntryPoint("sample", _recorder))
    entry_points.append(FakeEntryPoint("other", _recorder))
    blocked: tuple[str, ...] = ()
    if how == "env":
        monkeypatch.setenv("HUB_DISABLED_PLUGINS", " sample , nothing")
    else:
        blocked = ("sample",)
    pm = create_plugin_manager(blocked=blocked, settings=Settings())
    assert not pm.has_plugin("sample") and pm.is_blocked("sample")
    assert pm.has_plugin("other")
    assert "sample" not in build_registry(pm).owners.values()


@pytest.mark.parametrize("name", sorted(ESSENTIAL_PLUGINS))
def test_disabling_essential_plugin_fails(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_DISABLED_PLUGINS", name)
    with pytest.raises(PluginError, match=f"'{name}' is essential"):
        create_plugin_manager(load_entrypoints=False, settings=Settings())
    with pytest.raises(PluginError, match=f"'{name}'"):
        create_plugin_manager(load_entrypoints=False, blocked=[name], settings=Settings(
            disabled_plugins=None))


def test_load_plugins_restricts(entry_points: list[FakeEntryPoint],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    entry_points.append(FakeEntryPoint("sample", _recorder))
    entry_points.append(FakeEntryPoint("other", lambda: pytest.fail("must not be loaded")))
    monkeypatch.setenv("HUB_LOAD_PLUGINS", "sample")
    pm = create_plugin_manager(settings=Settings())
    names = {name for name, _ in pm.list_name_plugin()}
    assert names == {"sample"} | ESSENTIAL_PLUGINS


def test_trace_plugins_logs_hook_calls(monkeypatch: pytest.MonkeyPatch,
                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setenv("HUB_TRACE_PLUGINS", "1")
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    with caplog.at_level(logging.INFO, logger="hub.plugins.trace"):
        build_registry(pm)
        pm.hook.track_event(hub=None, event={"type": "run.started"})
    text = caplog.text
    assert "hook register_connectors -> core" in text
    assert "hook track_event -> " in text
    assert "hook register_connectors returned []" in text


def test_no_trace_by_default(caplog: pytest.LogCaptureFixture) -> None:
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    with caplog.at_level(logging.INFO, logger="hub.plugins.trace"):
        build_registry(pm)
    assert "hook register_connectors" not in caplog.text


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_STRICT_PLUGINS", "1")


def test_misspelled_hookimpl_fails_naming_plugin(entry_points: list[FakeEntryPoint],
                                                 strict: None) -> None:
    entry_points.append(FakeEntryPoint("typo", _module("misspelled")))
    with pytest.raises(PluginError, match=r"plugin 'typo'.*register_conectors"):
        create_plugin_manager(settings=Settings())


def test_misspelled_hookimpl_is_skipped(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("typo", _module("misspelled")))
    pm = create_plugin_manager(settings=Settings())
    assert not pm.has_plugin("typo")
    assert "register_conectors" in pm.failures["typo"]


def test_hookimpl_with_unknown_argument_fails_naming_plugin(
        entry_points: list[FakeEntryPoint], strict: None) -> None:
    class WrongArgs:
        @hub.hookimpl
        def startup(self, app: Any) -> None:
            """``app`` is not an argument of the ``startup`` spec."""

    entry_points.append(FakeEntryPoint("wrong_args", WrongArgs))
    with pytest.raises(PluginError, match=r"(?s)plugin 'wrong_args'.*'app'"):
        create_plugin_manager(settings=Settings())
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.delenv("HUB_STRICT_PLUGINS")
    try:
        pm = create_plugin_manager(settings=Settings())
    finally:
        monkeypatch.undo()
    assert not pm.has_plugin("wrong_args") and "'app'" in pm.failures["wrong_args"]


def test_broken_entry_point_names_plugin(entry_points: list[FakeEntryPoint],
                                         strict: None) -> None:
    entry_points.append(FakeEntryPoint("broken", _module("broken_import")))
    with pytest.raises(PluginError, match=r"plugin 'broken': cannot be loaded: .*missing_sdk"):
        create_plugin_manager(settings=Settings())


def test_broken_entry_point_can_be_disabled(entry_points: list[FakeEntryPoint],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    entry_points.append(FakeEntryPoint("broken", _module("broken_import")))
    monkeypatch.setenv("HUB_DISABLED_PLUGINS", "broken")
    pm = create_plugin_manager(settings=Settings())
    assert not pm.has_plugin("broken") and pm.failures == {}


def test_entry_point_named_like_builtin_fails(entry_points: list[FakeEntryPoint],
                                              strict: None) -> None:
    entry_points.append(FakeEntryPoint("core", _recorder))
    with pytest.raises(PluginError, match="plugin 'core': the name is already taken"):
        create_plugin_manager(settings=Settings())


def test_entry_point_named_like_builtin_is_skipped(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("core", _recorder))
    pm = create_plugin_manager(settings=Settings())
    assert pm.get_plugin("core") is importlib.import_module("hub_plugins.core")
    assert "already taken" in pm.failures["core"]
    assert "sample" not in build_registry(pm).connectors


def test_failing_builtin_stops_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hub.plugins.BUILTIN_PLUGINS",
                        (*BUILTIN_PLUGINS, "plugins.broken_import"))
    with pytest.raises(PluginError, match=r"plugin 'broken_import': cannot be loaded: "
                                          r"ImportError: zaphub_missing_sdk"):
        create_plugin_manager(load_entrypoints=False, settings=Settings())


def test_plugin_version(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("sample", _recorder, dist=FakeDist("1.2.3")))
    pm = create_plugin_manager(settings=Settings())
    assert plugin_version(pm, "sample") == "1.2.3"
    assert plugin_version(pm, "core") == hub.__version__
    assert plugin_version(pm, "secrets") == hub.__version__
    assert plugin_version(pm, "nothing") is None
    pm.register(sample.Recorder(), name="adhoc")
    try:
        assert plugin_version(pm, "adhoc") is None
    finally:
        pm.unregister(name="adhoc")


def test_real_entry_points_group_is_scanned() -> None:
    """With the real metadata the loader runs and installed plugins (if any) load cleanly."""
    pm = create_plugin_manager(settings=Settings())
    installed = {ep.name for ep in importlib.metadata.entry_points(group=ENTRYPOINT_GROUP)}
    assert {name for name, _ in pm.list_name_plugin()} >= installed
