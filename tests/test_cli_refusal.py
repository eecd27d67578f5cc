"""A hub that refuses to start says so in one line with its code, through the real ``hub``
command; and the embedded database is private to its owner."""

from __future__ import annotations

import asyncio
import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.context import Hub
from hub.services import identity
from hub.settings import Settings
from hub.testing.people import owner_token


async def _encrypted_data(data_dir: Path) -> str:
    """An embedded database holding encrypted data; returns the KEK id it needs."""
    hub = await Hub.open(Settings(data_dir=data_dir))
    try:
        owner = await identity.authenticate(hub, await owner_token(hub))
        await hub.payloads.prepare(owner.workspace_id)  # creates the workspace's payload key
        return hub.secrets.current_key_id()  # type: ignore[union-attr]
    finally:
        await hub.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_refusals_are_one_line_with_the_code(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    kek_id = asyncio.run(_encrypted_data(data_dir))
    (data_dir / "master.key").unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(data_dir), HUB_PORT=str(_free_port()))
    commands = (["serve"], ["worker"])  # the server's start-up, and a plain command's
    procs = [subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for args in commands]
    for args, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=60)
        assert proc.returncode != 0, (args, out, err)
        lines = [line for line in err.splitlines() if line.startswith("error[")]
        assert len(lines) == 1 and lines[0].startswith("error[missing_key]: "), (args, err)
        assert kek_id in lines[0] and str(data_dir / "master.key") in lines[0]
        assert "Traceback" not in err + out, (args, err)
    assert not (data_dir / "master.key").exists()
    monkeypatch.setenv("HUB_DATA_DIR", str(data_dir))
    for args in (["keys", "status"], ["runs", "list"]):  # commands that open the hub
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 2 and result.stderr.startswith("error[missing_key]: ")
        assert "Traceback" not in result.output


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_embedded_database_files_are_private(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    hub = await Hub.open(Settings(data_dir=data_dir))
    try:
        await identity.bootstrap(hub)
        files = [data_dir / name for name in ("hub.db", "hub.db-wal", "hub.db-shm")]
        assert all(f.exists() for f in files)  # WAL mode, while the hub is open
        assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert _mode(data_dir) == 0o700 and _mode(data_dir / "master.key") == 0o600
    finally:
        await hub.close()
