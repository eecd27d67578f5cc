"""Built-in ``http`` connector: ``http.request`` (any HTTP API, with an optional auth
connection) and the ``http.poll_json`` poll source."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    from .connector import Http

    register(Http)
