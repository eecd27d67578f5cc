"""`hub tables ...` on both backends: create, list, show, import, rows, export, delete, and
its errors (``error[code]: message``, exit 2)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hub.cli import app
from hub.settings import Settings


@pytest.fixture
def cli(settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("HUB_DATA_DIR", str(settings.data_dir))
    if settings.database_url:
        monkeypatch.setenv("HUB_DATABASE_URL", settings.database_url)
        monkeypatch.setenv("HUB_DATABASE_SCHEMA", settings.database_schema or "")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        return runner.invoke(app, ["tables", *args], input=input)

    return invoke


def test_table_commands(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    made = cli("create", "people", "--key", "email", "-c", "email:text", "-c", "age:integer",
               "-c", "team:text:indexed", "-c", "joined:datetime")
    assert made.exit_code == 0, made.output
    assert "created table 'people' (key email, 4 columns)" in made.stdout
    (tmp_path / "people.csv").write_text(
        "email,age,team,joined\nada@x.io,36,core,2025-01-01T10:00:00+01:00\n"
        'bo@x.io,,"ops, night",\n', encoding="utf-8")
    imported = cli("import", "people", "people.csv")
    assert imported.exit_code == 0, imported.output
    assert "2 inserted, 0 updated" in imported.stdout
    listed = cli("list")
    assert "people" in listed.stdout and "2 rows" in listed.stdout
    assert json.loads(cli("show", "people").stdout)["columns"][2]["indexed"] is True
    page = json.loads(cli("rows", "people", "--where", '{"team": "ops, night"}').stdout)
    assert [r["key"] for r in page["items"]] == ["bo@x.io"] and page["next_cursor"] is None
    first = json.loads(cli("rows", "people", "-n", "1").stdout)
    assert first["items"][0]["values"]["joined"] == "2025-01-01T09:00:00Z"
    assert first["next_cursor"]
    out = cli("export", "people")
    assert out.exit_code == 0, out.output
    assert list(csv.reader(io.StringIO(out.stdout))) == [
        ["email", "age", "team", "joined"], ["ada@x.io", "36", "core", "2025-01-01T09:00:00Z"],
        ["bo@x.io", "", "ops, night", ""]]
    assert cli("export", "people", "-o", "out.csv").exit_code == 0
    assert (tmp_path / "out.csv").read_text(encoding="utf-8").replace("\r\n", "\n") == (
        out.stdout.replace("\r\n", "\n"))
    gone = cli("delete", "people", "--yes")
    assert gone.exit_code == 0 and "deleted table 'people'" in gone.stdout
    assert cli("list", "--json").stdout.strip() == "[]"


def test_schema_file_and_errors(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "t.yaml").write_text("name: tasks\nkey: id\ncolumns:\n"
                                     "  - {name: id, type: integer}\n"
                                     "  - {name: title, type: text}\n")
    assert cli("create", "--schema", "t.yaml").exit_code == 0
    cases = [
        (("create", "--schema", "t.yaml"), "error[table_name_taken]: a table named 'tasks'"),
        (("create", "x", "--key", "k", "-c", "k"), "error[invalid_schema]: --column takes"),
        (("create", "x", "--key", "k", "-c", "k:blob"), "error[invalid_schema]: columns.0.type"),
        (("show", "nope"), "error[table_not_found]: no table 'nope'"),
        (("rows", "tasks", "--where", "{bad"), "error[invalid_filter]"),
        (("import", "tasks", "missing.csv"), "error[file_not_found]"),
    ]
    for args, message in cases:
        res = cli(*args)
        assert res.exit_code == 2 and res.stderr.startswith(message), (args, res.stderr)
    (tmp_path / "bad.csv").write_text("id,title\n1,ok\nx,broken\n")
    res = cli("import", "tasks", "bad.csv")
    assert res.exit_code == 2
    assert res.stderr.startswith("error[invalid_row]: row 3, column id: is not a whole number")
    assert json.loads(cli("show", "tasks").stdout)["row_count"] == 0
    (tmp_path / "ok.csv").write_text("id,title\n1,one\n")
    assert cli("import", "tasks", "-", input="id,title\n1,one\n").exit_code == 0
    res = cli("import", "tasks", "ok.csv")
    assert res.exit_code == 2 and res.stderr.startswith("error[duplicate_key]: row 2")
    assert cli("import", "tasks", "ok.csv", "--mode", "upsert").exit_code == 0
    refused = cli("delete", "tasks", input="n\n")
    assert refused.exit_code == 1 and json.loads(cli("show", "tasks").stdout)["row_count"] == 1
