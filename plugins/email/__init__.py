"""Built-in ``email`` connector: ``email.send`` over SMTP (STARTTLS, implicit TLS or plain)."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    from .connector import Email

    register(Email)
