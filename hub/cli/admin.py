"""`hub plugins list`, `hub tokens create`, `hub db upgrade`."""

from __future__ import annotations

import typer

from hub.cli.common import WorkspaceOpt, print_json, run_with_hub, workspace_id
from hub.context import Hub
from hub.services.identity import operator_token
from hub.services.plugins import describe_plugins

plugins_app = typer.Typer(help="Inspect plugins.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens (operator access).", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@plugins_app.command("list")
def plugins_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each plugin, its version and what it registered; installed plugins that failed to
    load are listed with status ``failed`` and the reason."""

    async def go(hub: Hub) -> list[dict]:
        return describe_plugins(hub.pm, hub.registry)

    items = run_with_hub(go)
    if as_json:
        print_json(items)
        return
    for p in items:
        what = "; ".join(f"{k}: {', '.join(v)}" for k, v in p["registered"].items()) or "-"
        kind = "built-in" if p["builtin"] else "installed"
        if p["status"] == "failed":
            what = f"FAILED: {p['error']}"
        typer.echo(f"{p['name']:<20} {p['version'] or '?':<10} {kind:<9} {what}")


@tokens_app.command("create")
def tokens_create(email: str = typer.Option("owner@localhost", help="The user's email."),
                  name: str = typer.Option("cli", help="A label for the token."),
                  workspace: str | None = WorkspaceOpt) -> None:
    """Create an API token for a user (for operators with database access; shown once)."""

    async def go(hub: Hub) -> str:
        ws = await workspace_id(hub, workspace)
        return await operator_token(hub, email=email, workspace_id=ws, name=name)

    typer.echo(run_with_hub(go))


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply database migrations (the hub also does this at start)."""

    async def go(hub: Hub) -> None:
        await hub.db.migrate()

    run_with_hub(go)
    typer.echo("database is up to date")
