"""Stand-ins for installed entry points, as the plugin loader sees them."""

from __future__ import annotations

import importlib
import importlib.metadata
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import pytest

from hub.plugins import ENTRYPOINT_GROUP


@dataclass
class FakeDist:
    version: str


@dataclass
class FakeEntryPoint:
    """Stands in for ``importlib.metadata.EntryPoint`` (name, group, dist, load)."""

    name: str
    target: Callable[[], Any]
    group: str = ENTRYPOINT_GROUP
    dist: FakeDist | None = None

    def load(self) -> Any:
        return self.target()


def module(name: str) -> Callable[[], ModuleType]:
    """Load ``plugins.<name>`` when the entry point is loaded."""
    return lambda: importlib.import_module(f"plugins.{name}")


def fake_entry_points(monkeypatch: pytest.MonkeyPatch) -> list[FakeEntryPoint]:
    """Replace the installed entry points by a list; append to it to add one."""
    installed: list[FakeEntryPoint] = []

    def fake(**params: str) -> list[FakeEntryPoint]:
        return [ep for ep in installed if all(getattr(ep, k) == v for k, v in params.items())]

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    return installed
