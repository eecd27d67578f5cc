"""Built-in ``github`` connector: issues, comments and labels over the REST API (v3), with a
personal access token or an OAuth app."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    from .connector import GitHub

    register(GitHub)
