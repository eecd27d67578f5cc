"""Built-in ``feed`` connector: the ``feed.new_items`` poll source for RSS and Atom feeds."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    from .connector import Feed

    register(Feed)
