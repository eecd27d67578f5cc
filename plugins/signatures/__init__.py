"""Built-in webhook signature schemes: GitHub, Stripe, Slack, Shopify, generic HMAC, header
token and HTTP basic auth. Each follows its provider's published algorithm over the raw body
and compares in constant time."""

from __future__ import annotations

from hub import hookimpl

from .schemes import (
    BasicAuth,
    GenericHmac,
    GitHub,
    HeaderToken,
    Shopify,
    Slack,
    Stripe,
)

SCHEMES = (GitHub, Stripe, Slack, Shopify, GenericHmac, HeaderToken, BasicAuth)


@hookimpl
def register_signature_schemes(register) -> None:  # type: ignore[no-untyped-def]
    for scheme in SCHEMES:
        register(scheme)
