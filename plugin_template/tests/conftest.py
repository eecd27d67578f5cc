"""Fixtures for the plugin's tests. The hub's own fixtures (``hub_registry``, ``hub_app``,
``hub_context`` ...) come from ``hub.testing``, loaded automatically with zaphub."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Tests also run from a checkout without installing the package.
SRC = str(Path(__file__).resolve().parents[1] / "src")
if SRC not in sys.path:
    sys.path.insert(0, SRC)

from fake_upstream import FakeExample  # noqa: E402 - after the path is set

API_KEY = "sk-test-123"


@pytest.fixture
def hub_plugin() -> object:
    """The plugin under test, for the ``hub.testing`` fixtures."""
    import zaphub_example

    return zaphub_example


@pytest.fixture
def upstream() -> Iterator[FakeExample]:
    """The fake Example API on a free loopback port."""
    with FakeExample(api_key=API_KEY) as server:
        yield server


@pytest.fixture
def creds(upstream: FakeExample) -> dict[str, Any]:
    """Connection values pointing at the fake API."""
    return {"api_key": API_KEY, "base_url": upstream.url}
