"""`hub db upgrade [--check]`: bring the schema up to date, or tell whether it is."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

from hub.cli.common import fail

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.settings import Settings
    from hub.store.schema import SchemaState

app = typer.Typer(help="Database maintenance: upgrade, check, prune.", no_args_is_help=True)


def _settings() -> Settings:
    from hub.cli.serve import load_settings
    from hub.logs import setup_logging

    settings = load_settings()
    setup_logging("WARNING", settings.log_format)
    return settings


async def _state(settings: Settings) -> SchemaState:
    from hub.store.db import Database
    from hub.store.schema import schema_state

    db = Database.from_settings(settings)
    try:
        async with db.read() as conn:
            return await schema_state(conn)
    finally:
        await db.close()


@app.command("upgrade")
def upgrade(check: bool = typer.Option(
        False, "--check", help="Only tell whether an upgrade is pending: exit 0 when the "
        "schema is up to date, 1 when migrations are pending, 2 when the schema is newer "
        "than this hub.")) -> None:
    """Apply database migrations (the hub also does this at start; several nodes may run it
    at once: on PostgreSQL one waits for the other)."""
    from hub.errors import HubError
    from hub.store.db import Database

    settings = _settings()
    try:
        if check:
            state = asyncio.run(_state(settings))
            state.refuse_if_too_new()
            if state.pending:
                typer.echo(f"upgrade pending: {', '.join(sorted(state.pending))}")
                raise typer.Exit(1)
            typer.echo("database is up to date")
            return

        async def go() -> None:
            db = Database.from_settings(settings)
            try:
                await db.migrate()
            finally:
                await db.close()

        asyncio.run(go())
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None
    typer.echo("database is up to date")
