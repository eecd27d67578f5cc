"""Fast start: the ``hub`` command imports only what the command being run needs."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hub.cli import COMMANDS

HEAVY = ("fastapi", "starlette", "uvicorn", "sqlalchemy", "alembic", "aiosqlite", "asyncpg",
         "httpx", "onnxruntime", "numpy", "tokenizers", "cryptography", "apscheduler",
         "prometheus_client", "jsonschema", "feedparser", "aiohttp", "hub.context")

PROBE = """
import json, sys
from hub.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def loaded(*args: str) -> set[str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    return set(json.loads(out.splitlines()[-1]))


def heavy_in(modules: set[str]) -> set[str]:
    return {m for m in modules if m.split(".")[0] in HEAVY or m in HEAVY}


def test_importing_the_command_loads_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", "import json, sys, hub, hub.cli; "
                          "print(json.dumps(sorted(sys.modules)))"],
                         capture_output=True, text=True, check=True, timeout=60).stdout
    assert heavy_in(set(json.loads(out))) == set()


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_loads_nothing_heavy(command: str) -> None:
    args = [command, "--help"] if command else ["--help"]
    assert heavy_in(loaded(*args)) == set()


def test_the_public_api_still_imports_from_the_package() -> None:
    import hub

    assert hub.Action.__name__ == "Action"
    assert hub.hookimpl is not None
    assert "Connector" in dir(hub)
    with pytest.raises(AttributeError):
        hub.NoSuchThing  # noqa: B018


def test_a_lazy_command_runs_like_an_eager_one() -> None:
    from typer.testing import CliRunner

    from hub.cli import app

    result = CliRunner().invoke(app, ["zaps", "schema"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["title"]
    result = CliRunner().invoke(app, ["nosuch"])
    assert result.exit_code == 2
