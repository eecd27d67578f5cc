"""One error format on the command line, ``error[code]: message``, and connection checks
refused by the egress guard reported as ``egress_denied`` with the HUB_EGRESS_ALLOW hint."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from plugins.entrypoints import FakeEntryPoint, fake_entry_points
from typer.testing import CliRunner

from hub.cli import app as cli_app
from hub.context import Hub
from hub.errors import HubError
from hub.plugins import create_plugin_manager
from hub.services import connections
from hub.settings import Settings
from plugins import loopback


@pytest.fixture
def cli(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args, input=None: runner.invoke(cli_app, list(args), input=input)


@pytest.mark.parametrize("args,line", [
    (("zaps", "import", "missing.yaml"), "error[file_not_found]: no such file: missing.yaml"),
    (("zaps", "export", "x", "--format", "xml"),
     "error[invalid_format]: --format must be yaml or json"),
    (("run", "x", "--input", "{bad"), "error[malformed_json]: --input is not valid JSON: "),
    (("runs", "show", "run_nope"), "error[run_not_found]: "),
    (("keys", "payloads", "maybe"), "error[invalid_argument]: use on or off"),
    (("connections", "create", "direct", "--name", "x", "--set", "novalue"),
     "error[invalid_option]: --set takes NAME=VALUE, not 'novalue'"),
    (("connections", "create", "nope", "--name", "x"), "error[connector_not_found]: "),
])
def test_one_error_format(cli: Callable[..., Any], args: tuple[str, ...], line: str) -> None:
    result = cli(*args)
    assert result.exit_code == 2, result.output
    errors = [x for x in result.stderr.splitlines() if x.startswith("error")]
    assert len(errors) == 1 and errors[0].startswith(line), result.stderr
    assert "error: [" not in result.stderr and "Traceback" not in result.output


@pytest.fixture
async def hub(tmp_path: Any) -> Any:
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    pm.register(loopback, name="loopback")
    h = await Hub.open(Settings(data_dir=tmp_path), pm=pm)
    try:
        yield h
    finally:
        await h.close()


@pytest.mark.parametrize("connector", ["direct", "wrapping"])
async def test_check_refused_by_egress_guard(hub: Hub, connector: str) -> None:
    from hub.services.identity import bootstrap
    from hub.store.tables import workspaces

    await bootstrap(hub)
    async with hub.db.read() as conn:
        ws = (await conn.execute(workspaces.select())).first().id
    with pytest.raises(HubError) as info:
        await connections.create_connection(
            hub, workspace_id=ws, connector=connector, name="c",
            values={"url": "http://127.0.0.1:9/me", "api_key": "sk-never-shown"})
    assert info.value.code == "egress_denied"
    assert info.value.message.startswith("outbound call to 127.0.0.1 refused: internal address")
    assert info.value.message.count("HUB_EGRESS_ALLOW") == 1


def test_cli_check_refused_by_egress_guard(cli: Callable[..., Any],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    fake_entry_points(monkeypatch).append(FakeEntryPoint("loopback", lambda: loopback))
    result = cli("connections", "create", "direct", "--name", "c", "--set",
                 "url=http://127.0.0.1:9/me", input="sk-never-shown\n")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "error[egress_denied]: outbound call to 127.0.0.1 refused: internal address (an "
        "operator can allow it with HUB_EGRESS_ALLOW=127.0.0.1/32)")
    assert "sk-never-shown" not in result.output
