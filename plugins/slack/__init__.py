"""Built-in ``slack`` connector: ``slack.post_message`` (bot token, OAuth v2 install) and
``slack.send_webhook`` (an incoming-webhook URL)."""

from __future__ import annotations

from hub import hookimpl


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    from .connector import Slack

    register(Slack)
