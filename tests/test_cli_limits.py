"""The CLI's entry points refuse hostile input with a stable code: deep `--input`, YAML
aliases and oversized files in `hub zaps import`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from hub.cli import app

ZAP = "name: z\ntrigger: {kind: manual}\nsteps: [{id: s, use: core.transform}]\n"


@pytest.fixture
def cli(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args))


def test_deep_run_input_is_refused(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("run", "z", "--input", '{"a":' * 900 + "1" + "}" * 900)
    assert r.exit_code != 0 and "[too_deep]" in r.stderr


def test_import_refuses_yaml_aliases(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "z.yaml").write_text(ZAP + "vars: {a: &a [1], b: *a}\n")
    r = cli("zaps", "import", "z.yaml")
    assert r.exit_code != 0 and "[yaml_alias_refused]" in r.stderr


def test_import_refuses_files_over_the_api_body_cap(cli, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_API_MAX_BODY", "2048")
    (tmp_path / "z.yaml").write_text(ZAP + "description: " + "x" * 5000 + "\n")
    r = cli("zaps", "import", "z.yaml")
    assert r.exit_code != 0 and "[payload_too_large]" in r.stderr
