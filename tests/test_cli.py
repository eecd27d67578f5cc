"""The `hub` command: zap files, runs, plugins, tokens, and its bad-input exits."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from hub.cli import app

GREET = """\
name: greet
trigger: {kind: manual}
vars: {greeting: Hello}
steps:
  - id: shape
    use: core.transform
    input: {message: "{{ vars.greeting }}, {{ trigger.name }}!"}
  - id: gate
    use: core.filter
    input: {condition: "{{ trigger.vip }}"}
"""


@pytest.fixture
def cli(tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, list(args), input=input)

    return invoke


def test_import_run_and_inspect(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "greet.yaml").write_text(GREET)
    first = cli("zaps", "import", "greet.yaml")
    assert first.exit_code == 0, first.output
    assert "created zap" in first.stdout and "version 1" in first.stdout
    assert "setup?token=zl_" in first.stderr  # printed once, on the first start
    second = cli("zaps", "import", "greet.yaml")
    assert "updated zap" in second.stdout and "version 2" in second.stdout
    assert "setup?token=" not in second.stderr

    ok = cli("run", "greet", "--input", '{"name": "Ada", "vip": true}')
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout) == {"passed": True}
    full = cli("run", "greet", "--input", '{"name": "Bo"}', "--full")
    detail = json.loads(full.stdout)
    assert detail["status"] == "filtered" and detail["zap_version"] == 2

    listed = cli("runs", "list", "--json")
    assert [r["status"] for r in json.loads(listed.stdout)["items"]] == ["filtered", "succeeded"]
    show = cli("runs", "show", detail["id"])
    assert json.loads(show.stdout)["steps"][0]["output"] == {"message": "Hello, Bo!"}

    exported = cli("zaps", "export", "greet", "--format", "json")
    assert json.loads(exported.stdout)["name"] == "greet"
    assert "greet" in cli("zaps", "list").stdout
    assert cli("zaps", "disable", "greet").exit_code == 0
    off = cli("run", "greet")
    assert off.exit_code == 2 and "zap_disabled" in off.stderr


def test_failed_run_exits_1(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "bad.json").write_text(json.dumps({
        "name": "boom", "trigger": {"kind": "manual"},
        "steps": [{"id": "a", "use": "core.transform", "input": {"n": "{{ abs(trigger.s) }}"}}]}))
    assert cli("zaps", "import", "bad.json").exit_code == 0
    r = cli("run", "boom", "--input", '{"s": "text"}')
    assert r.exit_code == 1 and "expression_error" in r.stderr


def test_bad_input_exits_non_zero_with_one_line(cli, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "typo.yaml").write_text(GREET.replace("{{ trigger.vip }}", "{{ steps.shap.x }}"))
    (tmp_path / "broken.yaml").write_text("name: [unclosed")
    cases = [
        (("zaps", "import", "missing.yaml"), "no such file"),
        (("zaps", "import", "broken.yaml"), "malformed_document"),
        (("zaps", "import", "typo.yaml"), "steps[1].input.condition: unknown step 'shap'"),
        (("zaps", "export", "nope"), "zap_not_found"),
        (("zaps", "export", "greet", "--format", "xml"), "--format must be yaml or json"),
        (("run", "nope"), "zap_not_found"),
        (("run", "nope", "--input", "{bad"), "not valid JSON"),
        (("runs", "show", "run_nope"), "run_not_found"),
        (("runs", "list", "--workspace", "ws_nope"), "workspace_not_found"),
    ]
    for args, message in cases:
        r = cli(*args)
        assert r.exit_code == 2, (args, r.output)
        assert message in r.stderr, (args, r.stderr)
        assert "Traceback" not in r.output
    assert json.loads(cli("zaps", "list", "--json").stdout) == []


def test_plugins_schema_and_tokens(cli) -> None:  # type: ignore[no-untyped-def]
    listed = json.loads(cli("plugins", "list", "--json").stdout)
    assert {p["name"] for p in listed} >= {"core", "manual"}
    assert "core" in cli("plugins", "list").stdout
    schema = json.loads(cli("zaps", "schema").stdout)
    assert schema["title"] == "Zap" and "steps" in schema["properties"]
    token = cli("tokens", "create").stdout.strip().splitlines()[-1]
    assert token.startswith("zh_")
    r = cli("tokens", "create", "--email", "ghost@x.io")
    assert r.exit_code == 2 and "user_not_found" in r.stderr
    assert cli("db", "upgrade").exit_code == 0
