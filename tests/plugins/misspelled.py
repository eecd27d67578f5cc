"""A plugin with a typo in a hookimpl name: ``check_pending`` must reject it."""

from __future__ import annotations

from collections.abc import Callable

from hub import hookimpl


@hookimpl
def register_conectors(register: Callable[[type], None]) -> None:
    """Misspelled on purpose (``register_connectors``)."""
