"""Built-in ``stripe`` connector: find customers by email and create refunds (never twice:
the step's idempotency key is Stripe's ``Idempotency-Key``)."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    from .connector import Stripe

    register(Stripe)
