"""A plugin module that fails on import, as a broken third-party package would."""

from __future__ import annotations

raise ImportError("zaphub_missing_sdk is not installed")
