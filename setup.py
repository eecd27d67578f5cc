"""Package layout: the built-in ``plugins/`` and ``triggers/`` folders install as
``hub_plugins`` and ``hub_triggers`` so they never collide with other distributions."""

from setuptools import find_packages, setup

MAPPED = {"hub_plugins": "plugins", "hub_triggers": "triggers"}

packages = find_packages(include=["hub", "hub.*"])
for name, folder in MAPPED.items():
    packages += [name] + [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=MAPPED)
