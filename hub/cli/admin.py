"""`hub plugins list`, `hub tokens create`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from hub.cli.common import WorkspaceOpt, print_json, run_with_hub, workspace_id

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.context import Hub

plugins_app = typer.Typer(help="Inspect plugins.", no_args_is_help=True)
tokens_app = typer.Typer(help="Manage API tokens (operator access).", no_args_is_help=True)


@plugins_app.command("list")
def plugins_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Each plugin, its version and what it registered; installed plugins that failed to
    load are listed with status ``failed`` and the reason."""
    from hub.services.plugins import describe_plugins

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
    from hub.services.identity import operator_token

    async def go(hub: Hub) -> str:
        ws = await workspace_id(hub, workspace)
        return await operator_token(hub, email=email, workspace_id=ws, name=name)

    typer.echo(run_with_hub(go))
