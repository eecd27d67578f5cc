"""Package layout: the built-in ``plugins/`` and ``triggers/`` folders install as
``hub_plugins`` and ``hub_triggers`` so they never collide with other distributions, and the
plugin template (``plugin_template/``, the one source) is copied into the wheel as
``hub/plugin_template/`` for ``hub plugin new``."""

import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

MAPPED = {"hub_plugins": "plugins", "hub_triggers": "triggers"}
TEMPLATE = Path(__file__).resolve().parent / "plugin_template"
TEMPLATE_SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".pytest_cache",
                                       ".ruff_cache", ".mypy_cache", ".venv", "build", "dist")

packages = find_packages(include=["hub", "hub.*"])
for name, folder in MAPPED.items():
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]


class BuildWithTemplate(build_py):
    """``build_py`` that also copies the plugin template as data of the ``hub`` package
    (editable installs read it from the checkout instead)."""

    def run(self) -> None:
        super().run()
        if not self.editable_mode and TEMPLATE.is_dir():
            target = Path(self.build_lib) / "hub" / "plugin_template"
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(TEMPLATE, target, ignore=TEMPLATE_SKIP)


setup(packages=packages, package_dir=MAPPED, cmdclass={"build_py": BuildWithTemplate})
