"""``hub plugin new``: a new plugin package from the plugin template.

The template (``plugin_template/`` in the repository, shipped inside the wheel as
``hub/plugin_template/``) is a working plugin named ``example``. Scaffolding copies it and
renames every identifier built from that name: distribution ``zaphub-example`` →
``zaphub-<name>``, package ``zaphub_example`` → ``zaphub_<name>``, entry point and connector
key ``example`` → ``<name>``, classes ``Example...`` → ``<Name>...``. The template avoids the
word elsewhere, so nothing else changes. The package is written to a temporary folder and
moved into place, so a failure leaves nothing half-written.
"""

from __future__ import annotations

import keyword
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from hub.errors import BadRequest, Conflict, HubError

TEMPLATE_NAME = "example"
NAME_RE = re.compile(r"[a-z][a-z0-9_]{0,39}")  # use fullmatch
SKIP_DIRS = frozenset({"__pycache__", ".pytest_cache", ".ruff_cache", ".venv", "build", "dist"})
MAX_FILES = 200


def template_root() -> Traversable:
    """The template: packaged with the hub, or next to ``hub/`` in a source checkout."""
    packaged = files("hub").joinpath("plugin_template")
    if packaged.joinpath("pyproject.toml").is_file():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "plugin_template"
    if (checkout / "pyproject.toml").is_file():
        return checkout
    raise HubError("the plugin template is missing from this installation",
                   code="template_missing", status=500)


def check_name(name: str, reserved: Iterable[str] = ()) -> str:
    """A plugin name: a lowercase identifier, not a keyword, not taken by a built-in."""
    if not NAME_RE.fullmatch(name) or keyword.iskeyword(name) or name.endswith("_"):
        raise BadRequest(f"{name!r} is not a valid plugin name: use 1 to 40 lowercase letters, "
                         "digits and underscores, starting with a letter (e.g. acme_crm)",
                         code="invalid_plugin_name")
    if name in set(reserved):
        raise BadRequest(f"{name!r} is already the name of a built-in plugin or connector",
                         code="invalid_plugin_name")
    return name


def distribution_name(name: str) -> str:
    return "zaphub-" + name.replace("_", "-")


def _renamer(name: str) -> list[tuple[re.Pattern[str], str]]:
    camel = "".join(part.capitalize() for part in name.split("_"))
    edge = r"(?<![A-Za-z0-9])"
    return [
        (re.compile(edge + r"zaphub-example(?![a-z0-9])"), distribution_name(name)),
        (re.compile(edge + r"example\.test(?![a-z0-9])"), name.replace("_", "-") + ".test"),
        (re.compile(edge + r"example(?![a-z0-9])"), name),
        (re.compile(edge + r"Example(?![a-z0-9])"), camel),
        (re.compile(edge + r"EXAMPLE(?![A-Z0-9])"), name.upper()),
    ]


def rename(text: str, name: str) -> str:
    """``text`` with every identifier derived from the template's name renamed."""
    for pattern, replacement in _renamer(name):
        text = pattern.sub(replacement, text)
    return text


def _walk(node: Traversable, rel: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...],
                                                                          Traversable]]:
    for child in sorted(node.iterdir(), key=lambda c: c.name):
        if child.is_dir():
            if not (child.name in SKIP_DIRS or child.name.startswith(".")
                    or child.name.endswith(".egg-info")):
                yield from _walk(child, (*rel, child.name))
        elif not child.name.endswith((".pyc", ".pyo")):
            yield (*rel, child.name), child


def _write(root: Traversable, target: Path, name: str) -> int:
    count = 0
    for rel, source in _walk(root):
        count += 1
        if count > MAX_FILES:
            raise HubError("the plugin template has too many files", code="template_invalid")
        path = target.joinpath(*(rename(part, name) for part in rel))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rename(source.read_text(encoding="utf-8"), name), encoding="utf-8")
    return count


def scaffold(name: str, parent: Path, *, reserved: Iterable[str] = ()) -> Path:
    """Create ``<parent>/zaphub-<name>/`` from the template; return its path.

    Raises:
        BadRequest: ``invalid_plugin_name`` or ``invalid_directory``.
        Conflict: ``directory_exists`` when the package folder is already there.
    """
    check_name(name, reserved)
    if parent.exists() and not parent.is_dir():
        raise BadRequest(f"{parent} is not a directory", code="invalid_directory")
    target = parent / distribution_name(name)
    if target.exists():
        raise Conflict(f"{target} already exists; choose another name or --dir",
                       code="directory_exists")
    root = template_root()
    parent.mkdir(parents=True, exist_ok=True)
    staging = parent / f".{target.name}.{uuid.uuid4().hex[:8]}.tmp"
    try:
        _write(root, staging, name)
        os.rename(staging, target)
    except OSError as exc:
        raise HubError(f"cannot write {target}: {exc.strerror or exc}",
                       code="invalid_directory") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
