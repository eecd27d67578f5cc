"""Built-in ``google_sheets`` connector: append a row and find rows over the Sheets API v4,
with a Google OAuth2 app (offline access, refreshed by the hub)."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    from .connector import GoogleSheets

    register(GoogleSheets)
