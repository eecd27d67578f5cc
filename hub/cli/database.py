"""`hub db upgrade [--check]` and `hub db prune`: the schema and the run history."""

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


@app.command("prune")
def prune(days: float | None = typer.Option(
              None, "--days", min=0.0001, max=36500,
              help="Delete finished runs older than this (default: HUB_RUN_RETENTION_DAYS)."),
          keep: int | None = typer.Option(
              None, "--keep", min=1, help="Keep this many finished runs per workspace "
              "(default: HUB_RUN_RETENTION_COUNT).")) -> None:
    """Delete finished runs, with their steps and trigger events, in short batches (safe
    while the hub runs). Queued, running and waiting runs, the audit trail and AI usage stay."""
    from hub.errors import HubError
    from hub.services.retention import Retention
    from hub.services.retention import prune as prune_runs
    from hub.store.db import Database
    from hub.store.schema import schema_state

    settings = _settings()
    policy = Retention(days if days is not None else settings.run_retention_days,
                       keep if keep is not None else settings.run_retention_count,
                       settings.prune_batch)
    if not policy.active:
        raise fail("nothing to prune by: pass --days or --keep (or set "
                   "HUB_RUN_RETENTION_DAYS / HUB_RUN_RETENTION_COUNT)", error="no_retention")

    async def go() -> str:
        db = Database.from_settings(settings)
        try:
            async with db.read() as conn:
                state = await schema_state(conn)
            state.refuse_if_too_new()
            if state.pending:
                raise HubError("the database needs `hub db upgrade` first",
                               code="upgrade_pending")
            return (await prune_runs(db, policy)).line()
        finally:
            await db.close()

    try:
        typer.echo(asyncio.run(go()))
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None
