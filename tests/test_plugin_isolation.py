"""A third-party plugin that fails is skipped alone (one warning line, listed as failed);
HUB_STRICT_PLUGINS=1 and built-ins refuse to start instead. Each case names plugin, object
and rule."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from plugins.entrypoints import FakeDist, FakeEntryPoint, fake_entry_points, module
from typer.testing import CliRunner

from hub.cli import app as cli_app
from hub.context import Hub
from hub.errors import PluginError
from hub.plugins import BUILTIN_PLUGINS, create_plugin_manager
from hub.registry import build_registry
from hub.services.plugins import describe_plugins
from hub.settings import Settings
from plugins import broken, invalid, sample


@pytest.fixture(name="entry_points")
def _entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    return fake_entry_points(monkeypatch)


def _registers(*classes: type) -> Callable[[], Any]:
    return lambda: invalid.Registers(*classes)


#: (plugin name, what its entry point loads, the reason it is refused)
CASES: list[tuple[str, Callable[[], Any], str]] = [
    ("clash", _registers(invalid.connector("core", invalid.Good)),
     "connector 'core' is already registered by plugin 'core'"),
    ("schema", _registers(invalid.NO_SCHEMA),
     "action 'no_schema.no_schema': Input does not render to JSON Schema"),
    ("leaky", _registers(broken.Leaky),
     "connector 'leaky': Credentials.api_key: looks like a secret, so it must be SecretStr"),
    ("notes", _registers(broken.Notes), "poll trigger 'notes.new_notes': missing 'title'"),
    ("importer", module("broken_import"),
     "cannot be loaded: ImportError: zaphub_missing_sdk is not installed"),
    ("raiser", broken.RaisingHook,
     "hook register_connectors raised RuntimeError: boom while registering"),
    ("offline", module("network_import"),
     "cannot be loaded: OSError: [Errno 101] Network is unreachable"),
    ("typo", module("misspelled"), "unknown hook 'register_conectors'"),
]
IDS = [name for name, _, _ in CASES]


def _install(entry_points: list[FakeEntryPoint], name: str, target: Callable[[], Any]) -> None:
    entry_points.append(FakeEntryPoint("good", sample.Recorder, dist=FakeDist("2.0")))
    entry_points.append(FakeEntryPoint(name, target, dist=FakeDist("1.0")))


@pytest.mark.parametrize("name,target,reason", CASES, ids=IDS)
def test_failing_plugin_is_skipped(name: str, target: Callable[[], Any], reason: str,
                                   entry_points: list[FakeEntryPoint],
                                   caplog: pytest.LogCaptureFixture) -> None:
    _install(entry_points, name, target)
    with caplog.at_level(logging.DEBUG, logger="hub.plugins"):
        pm = create_plugin_manager(settings=Settings())
        registry = build_registry(pm)
    assert not pm.has_plugin(name)
    assert reason in pm.failures[name]
    assert name not in registry.owners.values()
    assert registry.owners[("connectors", "sample")] == "good"  # the others still load
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [f"plugin '{name}' skipped: "
                                                  f"{pm.failures[name]}"]
    assert warnings[0].exc_info is None and "\n" not in warnings[0].getMessage()
    listed = {p["name"]: p for p in describe_plugins(pm, registry) if p["status"] == "failed"}
    assert listed[name]["error"] == pm.failures[name] and listed[name]["version"] == "1.0"


@pytest.mark.parametrize("name,target,reason", CASES, ids=IDS)
def test_strict_refuses_naming_plugin_and_rule(name: str, target: Callable[[], Any],
                                               reason: str, entry_points: list[FakeEntryPoint],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_STRICT_PLUGINS", "1")
    _install(entry_points, name, target)
    with pytest.raises(PluginError) as info:
        build_registry(create_plugin_manager(settings=Settings()))
    assert str(info.value).startswith(f"plugin '{name}': ")
    assert reason in str(info.value)


@pytest.mark.parametrize("target", [broken.Partial, broken.Swallows])
def test_partial_registrations_do_not_remain(target: Callable[[], Any],
                                             entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("partial", target))
    pm = create_plugin_manager(settings=Settings())
    registry = build_registry(pm)
    assert "partial" in pm.failures
    assert not {"partial_ok", "swallow_ok"} & set(registry.connectors)
    assert not [a for a in registry.actions if a.startswith(("partial_ok.", "swallow_ok."))]


def test_partial_reason_names_the_rule(entry_points: list[FakeEntryPoint]) -> None:
    entry_points.append(FakeEntryPoint("partial", broken.Partial))
    pm = create_plugin_manager(settings=Settings())
    build_registry(pm)
    assert pm.failures["partial"] == ("guardrail 'bad_stages': 'stages' must be a non-empty "
                                      "subset of ['input', 'output']")


def test_failing_builtin_stops_the_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("hub.plugins.BUILTIN_PLUGINS", (*BUILTIN_PLUGINS, "plugins.broken"))
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    pm.unregister(name="broken")
    pm.register(broken.RaisingHook(), name="broken")  # a built-in whose hookimpl raises
    with pytest.raises(PluginError, match="plugin 'broken': hook register_connectors raised"):
        build_registry(pm)


async def test_hub_starts_and_lists_the_failure(entry_points: list[FakeEntryPoint],
                                                tmp_path: Any) -> None:
    _install(entry_points, "importer", module("broken_import"))
    hub = await Hub.open(Settings(data_dir=tmp_path))
    try:
        failed = [p for p in describe_plugins(hub.pm, hub.registry) if p["status"] == "failed"]
        assert [(p["name"], p["builtin"], p["registered"]) for p in failed] == [
            ("importer", False, {})]
        assert "sample" in hub.registry.connectors
    finally:
        await hub.close()


@pytest.fixture
def cli(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    return lambda *args: runner.invoke(cli_app, list(args))


def test_cli_lists_the_failure_with_one_warning(entry_points: list[FakeEntryPoint],
                                                cli: Callable[..., Any]) -> None:
    _install(entry_points, "offline", module("network_import"))
    result = cli("plugins", "list", "--json")
    assert result.exit_code == 0, result.output
    failed = [p for p in json.loads(result.stdout) if p["status"] == "failed"]
    assert failed[0]["name"] == "offline" and "OSError" in failed[0]["error"]
    lines = [line for line in result.stderr.splitlines() if "plugin" in line]
    assert len(lines) == 1 and "WARNING hub.plugins: plugin 'offline' skipped: cannot be " \
        "loaded: OSError: [Errno 101] Network is unreachable" in lines[0]
    assert "Traceback" not in result.stderr
    text = cli("plugins", "list")
    assert "offline" in text.stdout and "FAILED: cannot be loaded" in text.stdout


def test_cli_debug_shows_the_traceback(entry_points: list[FakeEntryPoint],
                                       cli: Callable[..., Any],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    _install(entry_points, "offline", module("network_import"))
    monkeypatch.setenv("HUB_LOG_LEVEL", "DEBUG")
    root = logging.getLogger()
    saved = root.level, root.handlers[:]
    try:
        result = cli("plugins", "list", "--json")
    finally:  # later tests must not log at DEBUG into the runner's closed stream
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
    assert result.exit_code == 0 and "Traceback" in result.stderr
    assert "network_import.py" in result.stderr


def test_cli_strict_refuses_in_one_line(entry_points: list[FakeEntryPoint],
                                        cli: Callable[..., Any],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    _install(entry_points, "leaky", _registers(broken.Leaky))
    monkeypatch.setenv("HUB_STRICT_PLUGINS", "1")
    result = cli("plugins", "list")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error[plugin_error]: plugin 'leaky': connector 'leaky': Credentials.api_key: looks "
        "like a secret, so it must be SecretStr")


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_serve_and_worker_refuse_in_one_line(command: str, entry_points: list[FakeEntryPoint],
                                             cli: Callable[..., Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    _install(entry_points, "offline", module("network_import"))
    monkeypatch.setenv("HUB_STRICT_PLUGINS", "1")
    result = cli(command)
    assert result.exit_code == 2
    assert result.stderr.strip() == ("error[plugin_error]: plugin 'offline': cannot be loaded: "
                                     "OSError: [Errno 101] Network is unreachable")


async def test_api_lists_the_failure(entry_points: list[FakeEntryPoint], api: Any) -> None:
    # the app was started before this test's entry points existed: start another one
    from hub.web.app import create_app

    _install(entry_points, "raiser", broken.RaisingHook)
    hub = api.app.state.hub
    app = create_app(hub.settings, on_setup_token=lambda *_: None)
    async with app.router.lifespan_context(app):
        import httpx

        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            answer = await client.get("/api/v1/plugins", headers=api.auth())
    assert answer.status_code == 200
    failed = [p for p in answer.json() if p["status"] == "failed"]
    assert failed == [{"name": "raiser", "version": "1.0", "builtin": False,
                       "status": "failed", "registered": {},
                       "error": "hook register_connectors raised RuntimeError: boom while "
                                "registering"}]
