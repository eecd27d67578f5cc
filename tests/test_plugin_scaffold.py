"""`hub plugin new`: names, renaming, refusals; and a scaffolded plugin installed into a fresh
virtual environment next to the hub from this checkout, found by the hub and run in zaps."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from hub.cli import app as cli_app
from hub.errors import HubError
from hub.scaffold import check_name, rename, scaffold, template_root

LEFTOVER = re.compile(r"(?<![a-z0-9])example(?![a-z0-9])", re.IGNORECASE)


def test_template_found_in_checkout() -> None:
    assert Path(str(template_root())).name == "plugin_template"


@pytest.mark.parametrize("name", ["", "Acme", "9lives", "acme-crm", "acme crm", "a" * 41,
                                  "class", "acme_", "ac.me", "acme\n"])
def test_bad_names(name: str) -> None:
    with pytest.raises(HubError) as info:
        check_name(name)
    assert info.value.code == "invalid_plugin_name"


def test_reserved_name() -> None:
    with pytest.raises(HubError, match="'core' is already the name of a built-in"):
        check_name("core", reserved={"core"})


def test_rename() -> None:
    text = ("zaphub-example zaphub_example example example.create_item ExampleCredentials "
            "Example EXAMPLE_URL examples=[1] api.example.test test_example")
    assert rename(text, "acme_crm") == (
        "zaphub-acme-crm zaphub_acme_crm acme_crm acme_crm.create_item AcmeCrmCredentials "
        "AcmeCrm ACME_CRM_URL examples=[1] api.acme-crm.test test_acme_crm")


def test_scaffold_renames_everything(tmp_path: Path) -> None:
    target = scaffold("acme_crm", tmp_path)
    assert target == tmp_path / "zaphub-acme-crm"
    files = sorted(p.relative_to(target).as_posix() for p in target.rglob("*") if p.is_file())
    assert files == [".gitignore", "README.md", "pyproject.toml",
                     "src/zaphub_acme_crm/__init__.py", "src/zaphub_acme_crm/connector.py",
                     "tests/conftest.py", "tests/fake_upstream.py", "tests/test_acme_crm.py"]
    for rel in files:
        assert not LEFTOVER.search((target / rel).read_text()), rel
    project = tomllib.loads((target / "pyproject.toml").read_text())["project"]
    assert project["name"] == "zaphub-acme-crm"
    assert project["entry-points"]["zaphub"] == {"acme_crm": "zaphub_acme_crm"}
    connector = (target / "src/zaphub_acme_crm/connector.py").read_text()
    assert 'key = "acme_crm"' in connector and "class AcmeCrm(Connector)" in connector


def test_scaffold_refusals(tmp_path: Path) -> None:
    scaffold("acme", tmp_path)
    with pytest.raises(HubError) as info:
        scaffold("acme", tmp_path)
    assert info.value.code == "directory_exists"
    (tmp_path / "file").write_text("x")
    with pytest.raises(HubError) as info:
        scaffold("other", tmp_path / "file")
    assert info.value.code == "invalid_directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "zaphub-acme"]


def _cli(*args: str) -> Any:
    return CliRunner().invoke(cli_app, list(args))


def test_cli(tmp_path: Path) -> None:
    made = _cli("plugin", "new", "acme", "--dir", str(tmp_path / "new"))
    assert made.exit_code == 0, made.output
    assert (tmp_path / "new" / "zaphub-acme" / "pyproject.toml").is_file()
    assert "pip install -e" in made.stdout
    for args, line in [
        (("plugin", "new", "acme", "--dir", str(tmp_path / "new")), "error[directory_exists]: "),
        (("plugin", "new", "Bad-Name"), "error[invalid_plugin_name]: 'Bad-Name' is not"),
        (("plugin", "new", "webhook"), "error[invalid_plugin_name]: 'webhook' is already"),
        (("plugin", "new", "ai"), "error[invalid_plugin_name]: 'ai' is already"),
    ]:
        result = _cli(*args)
        assert result.exit_code == 2 and result.stderr.startswith(line), result.output


def test_catalog_cli() -> None:
    text = _cli("catalog")
    assert text.exit_code == 0 and "core.transform" in text.stdout
    data = json.loads(_cli("catalog", "--json").stdout)
    assert [c["key"] for c in data["connectors"]] == sorted(c["key"] for c in data["connectors"])
