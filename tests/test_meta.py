"""Meta-tests: size limits (STYLE.md), clean built-in imports, and the wheel's layout."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from hub.plugins import BUILTIN_PLUGINS

ROOT = Path(__file__).resolve().parents[1]
MAX_FUNCTION_LINES = 60
MAX_PARAMETERS = 6

#: (folder, line cap) — the first matching folder wins, so list specific ones first.
MODULE_CAPS: tuple[tuple[str, int], ...] = (
    ("hub/web/routers", 250),
    ("hub", 400),
    ("plugins", 300),
    ("triggers", 300),
    ("tests", 600),
    ("plugin_template/src", 300),
    ("plugin_template/tests", 600),
)


def _python_files() -> list[Path]:
    files: set[Path] = set()
    for folder, _ in MODULE_CAPS:
        files.update(p for p in (ROOT / folder).rglob("*.py") if "__pycache__" not in p.parts)
    return sorted(files)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _cap(path: Path) -> int:
    rel = _rel(path)
    return next(cap for folder, cap in MODULE_CAPS if rel.startswith(folder + "/"))


FILES = _python_files()


def test_files_found() -> None:
    rels = {_rel(p) for p in FILES}
    assert {"hub/plugins.py", "plugins/core/__init__.py", "tests/test_meta.py"} <= rels


@pytest.mark.parametrize("path", FILES, ids=_rel)
def test_module_size(path: Path) -> None:
    lines = len(path.read_text().splitlines())
    assert lines <= _cap(path), f"{_rel(path)} has {lines} lines; the cap is {_cap(path)}"


def _parameters(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    args = node.args
    names = [a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs)]
    names += [a.arg for a in (args.vararg, args.kwarg) if a is not None]
    return [n for n in names if n not in ("self", "cls")]


def _function_problems(source: str, label: str) -> list[str]:
    problems = []
    for node in ast.walk(ast.parse(source, filename=label)):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        where = f"{label}:{node.lineno} {node.name}"
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > MAX_FUNCTION_LINES:
            problems.append(f"{where} has {length} lines (cap {MAX_FUNCTION_LINES})")
        params = _parameters(node)
        if len(params) > MAX_PARAMETERS:
            problems.append(f"{where} has {len(params)} parameters (cap {MAX_PARAMETERS}): "
                            + ", ".join(params))
    return problems


# Alembic revisions list a schema, not logic; ruff excludes them too (pyproject.toml).
CODE_FILES = [p for p in FILES if "hub/store/migrations/versions/" not in _rel(p)]


@pytest.mark.parametrize("path", CODE_FILES, ids=_rel)
def test_function_size(path: Path) -> None:
    problems = _function_problems(path.read_text(), _rel(path))
    assert not problems, "\n".join(problems)


def test_function_checks_catch_faults() -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    source = (f"def long(a, b, c, d, e, f, *, g):\n{body}\n\n"
              "def ok(self, a, b, c, d, e, f):\n    pass\n")
    assert _function_problems(source, "probe.py") == [
        "probe.py:1 long has 61 lines (cap 60)",
        "probe.py:1 long has 7 parameters (cap 6): a, b, c, d, e, f, g"]


@pytest.mark.parametrize("module", ["hub", "hub.testing", *BUILTIN_PLUGINS])
def test_imports_cleanly_with_warnings_as_errors(module: str) -> None:
    proc = subprocess.run([sys.executable, "-W", "error", "-c", f"import {module}"],
                          capture_output=True, text=True, timeout=60, cwd="/")
    assert proc.returncode == 0, proc.stderr


def test_builtins_load_nothing_at_import() -> None:
    """Importing the built-ins builds no plugin manager and reads no settings."""
    code = ("import sys; import " + ", ".join(BUILTIN_PLUGINS) + "; "
            "bad = [m for m in ('hub.context', 'hub.store.db', 'hub.web') if m in sys.modules]; "
            "assert not bad, bad")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd="/")
    assert proc.returncode == 0, proc.stderr


def _build_wheel(tmp_path: Path) -> Path:
    """Build from a copy so the build leaves no build/ or egg-info in the work tree."""
    src = tmp_path / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in ("hub", "plugins", "triggers", "plugin_template"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    for name in ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path / "dist"
    proc = subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(out),
                           str(src)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (wheel,) = out.glob("*.whl")
    return wheel


def test_wheel_layout(tmp_path: Path) -> None:
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names}
    assert {"hub", "hub_plugins", "hub_triggers"} <= tops
    assert not {"plugins", "triggers", "tests", "plugin_template"} & tops, sorted(tops)
    for required in ("hub/__init__.py", "hub_plugins/core/__init__.py",
                     "hub_triggers/manual/__init__.py", "hub/store/migrations/env.py",
                     "hub/store/migrations/script.py.mako",
                     "hub/store/migrations/versions/0001_initial_schema.py"):
        assert required in names, f"{required} missing from the wheel"
    for module_name in BUILTIN_PLUGINS:
        path = module_name.replace(".", "/")
        assert f"{path}.py" in names or f"{path}/__init__.py" in names, module_name
    template = {p.relative_to(ROOT / "plugin_template").as_posix()
                for p in (ROOT / "plugin_template").rglob("*")
                if p.is_file() and not any(part.startswith((".", "__pycache__"))
                                           or part.endswith(".egg-info") for part in p.parts)}
    assert {f"hub/plugin_template/{p}" for p in template} <= set(names)
    _scaffold_from_wheel(wheel, tmp_path)


def _scaffold_from_wheel(wheel: Path, tmp_path: Path) -> None:
    """The installed hub (here: the unpacked wheel) scaffolds from its packaged template."""
    unpacked = tmp_path / "unpacked"
    zipfile.ZipFile(wheel).extractall(unpacked)
    code = ("import sys; from pathlib import Path; import hub.scaffold as s; "
            "root = s.template_root(); assert str(root).startswith(sys.argv[1]), root; "
            "print(s.scaffold('acme', Path(sys.argv[2])))")
    proc = subprocess.run([sys.executable, "-c", code, str(unpacked), str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=60, cwd="/",
                          env={"PYTHONPATH": str(unpacked), "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / "zaphub-acme" / "src" / "zaphub_acme" / "connector.py").is_file()
