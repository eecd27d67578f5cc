"""zaphub plugin ``example``: hookimpls only. Heavy imports belong in ``connector.py``."""

from __future__ import annotations

from collections.abc import Callable

from hub import hookimpl


@hookimpl
def register_connectors(register: Callable[[type], None]) -> None:
    from zaphub_example.connector import Example

    register(Example)
