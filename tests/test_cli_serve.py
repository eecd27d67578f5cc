"""`hub serve` and `hub worker`: HUB_* settings and flags agree, a flag wins only when given."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import hub.web.app
import hub.web.lifecycle
from hub.cli import app
from hub.settings import Settings


@pytest.fixture
def serve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Invoke `hub serve ARGS` with ENV; return the settings the app would be built with."""
    monkeypatch.chdir(tmp_path)
    built: list[Settings] = []
    monkeypatch.setattr(hub.web.app, "create_app",
                        lambda settings, **_kw: built.append(settings))
    monkeypatch.setattr(hub.web.lifecycle, "run_server", lambda *_a, **_k: None)

    def invoke(*args: str, **env: str) -> Settings:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        result = CliRunner().invoke(app, ["serve", *args])
        assert result.exit_code == 0, result.output
        return built.pop()

    return invoke


def test_hub_run_worker_false_is_honoured(serve: Any) -> None:
    assert serve(HUB_RUN_WORKER="false").run_worker is False


@pytest.mark.parametrize(("args", "env", "expected"), [
    ((), {}, True),
    (("--worker",), {"HUB_RUN_WORKER": "false"}, True),
    (("--no-worker",), {"HUB_RUN_WORKER": "true"}, False),
    (("--no-worker",), {}, False),
])
def test_the_worker_flag_wins_only_when_given(serve: Any, args: tuple[str, ...],
                                              env: dict[str, str], expected: bool) -> None:
    assert serve(*args, **env).run_worker is expected


def test_host_and_port_flags_and_settings(serve: Any) -> None:
    settings = serve(HUB_HOST="0.0.0.0", HUB_PORT="9001")
    assert (settings.host, settings.port) == ("0.0.0.0", 9001)
    settings = serve("--host", "127.0.0.2", "--port", "9002")
    assert (settings.host, settings.port) == ("127.0.0.2", 9002)


@pytest.mark.parametrize("command", ["serve", "worker"])
def test_an_invalid_setting_exits_2_with_one_line(command: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SQLITE_SYNCHRONOUS", "sometimes")
    result = CliRunner().invoke(app, [command])
    assert result.exit_code == 2
    assert result.stderr.startswith("error[invalid_settings]: HUB_SQLITE_SYNCHRONOUS: ")
    assert "Traceback" not in result.output


# --- power-cut durability of SQLite commits ---------------------------------------------------


def test_sqlite_synchronous_setting() -> None:
    assert Settings().sqlite_synchronous == "full"
    assert Settings(sqlite_synchronous=" NORMAL ").sqlite_synchronous == "normal"
    with pytest.raises(ValueError, match="full"):
        Settings(sqlite_synchronous="off")


@pytest.mark.parametrize(("mode", "level"), [("full", 2), ("normal", 1)])
async def test_writer_connections_use_the_setting(tmp_path: Path, mode: str, level: int) -> None:
    from hub.context import Hub
    from hub.intake.service import intake_of

    h = await Hub.open(Settings(data_dir=tmp_path, sqlite_synchronous=mode))  # type: ignore[arg-type]
    try:
        async with h.db.write() as conn:  # the engine's checkpoints
            assert (await conn.exec_driver_sql("PRAGMA synchronous")).scalar() == level
        fast = intake_of(h).writer._fast  # the webhook intake's group commit
        assert fast is not None
        conn_: sqlite3.Connection = fast._connect()
        assert conn_.execute("PRAGMA synchronous").fetchone()[0] == level
    finally:
        await h.close()
