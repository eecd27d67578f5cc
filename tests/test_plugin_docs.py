"""docs/plugins.md lists every hook with its exact arguments; the plugin docs stand alone."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pluggy
import pytest

from hub import hookspecs

ROOT = Path(__file__).resolve().parents[1]
GUIDE = ROOT / "docs" / "plugins.md"
HEADING = re.compile(r"^### `([a-z_]+)\(([a-z_, ]*)\)`$", re.MULTILINE)


def _hookspecs() -> dict[str, list[str]]:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    return {name: list(inspect.signature(getattr(hookspecs, name)).parameters)
            for name in dir(hookspecs) if pm.parse_hookspec_opts(hookspecs, name) is not None}


def test_guide_lists_every_hook_with_its_arguments() -> None:
    documented = {name: [a.strip() for a in args.split(",") if a.strip()]
                  for name, args in HEADING.findall(GUIDE.read_text())}
    assert documented == _hookspecs()


def test_readme_links_the_guide() -> None:
    assert "(docs/plugins.md)" in (ROOT / "README.md").read_text()


@pytest.mark.parametrize("path", [GUIDE, ROOT / "plugin_template" / "README.md"],
                         ids=["guide", "template"])
def test_docs_stand_alone(path: Path) -> None:
    text = path.read_text()
    assert not re.search(r"STYLE\.md|ARCHITECTURE\.md|style guide", text, re.IGNORECASE)
    # zaphub is not on the package index yet: the hub is installed from its checkout first
    assert "pip install -e /path/to/zaphub" in text
