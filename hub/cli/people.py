"""`hub users ...`: people of a workspace, invitations, reset and setup links (operators)."""

from __future__ import annotations

import typer

from hub.cli.common import WorkspaceOpt, print_json, run_with_hub, workspace_id
from hub.context import Hub
from hub.errors import NotFound
from hub.permissions import ROLES
from hub.services import invites, people
from hub.services.identity import FIRST_OWNER, Principal, bootstrap_link

app = typer.Typer(help="People of a workspace (operator access).", no_args_is_help=True)
ROLE_HELP = f"One of: {', '.join(ROLES)}."


def _operator(ws: str) -> Principal:
    """The operator acts as an owner of the workspace; the audit trail names ``operator``."""
    return Principal(ws, "operator", "owner")


def _role(role: str) -> str:
    if role not in ROLES:
        raise typer.BadParameter(f"unknown role '{role}'. {ROLE_HELP}")
    return role


async def _user_id(hub: Hub, ws: str, email: str) -> str:
    for person in await people.list_users(hub, workspace_id=ws):
        if person["email"] == email.strip().lower():
            return str(person["id"])
    raise NotFound(f"no user '{email}' in workspace {ws}", code="user_not_found")


@app.command("list")
def users_list(workspace: str | None = WorkspaceOpt,
               as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Members of the workspace and their roles."""

    async def go(hub: Hub) -> list[dict]:
        return await people.list_users(hub, workspace_id=await workspace_id(hub, workspace))

    items = run_with_hub(go)
    if as_json:
        print_json(items)
        return
    for p in items:
        typer.echo(f"{p['id']:<32} {p['role']:<9} {p['email']}")


@app.command("invite")
def users_invite(email: str, role: str = typer.Option("viewer", help=ROLE_HELP),
                 workspace: str | None = WorkspaceOpt) -> None:
    """Print a single-use invitation link (valid 7 days) for EMAIL with a role."""

    async def go(hub: Hub) -> str:
        ws = await workspace_id(hub, workspace)
        return str((await invites.invite(hub, actor=_operator(ws), email=email,
                                         role=_role(role)))["link"])

    typer.echo(run_with_hub(go))


@app.command("set-role")
def users_set_role(email: str, role: str, workspace: str | None = WorkspaceOpt) -> None:
    """Change a member's role (a workspace always keeps an owner)."""

    async def go(hub: Hub) -> None:
        ws = await workspace_id(hub, workspace)
        await people.set_role(hub, actor=_operator(ws), user_id=await _user_id(hub, ws, email),
                              role=_role(role))

    run_with_hub(go)
    typer.echo(f"{email} is now {role}")


@app.command("remove")
def users_remove(email: str, workspace: str | None = WorkspaceOpt) -> None:
    """Remove a member from the workspace; their tokens and sessions there end."""

    async def go(hub: Hub) -> None:
        ws = await workspace_id(hub, workspace)
        await people.delete_user(hub, actor=_operator(ws),
                                 user_id=await _user_id(hub, ws, email))

    run_with_hub(go)
    typer.echo(f"removed {email}")


@app.command("reset-link")
def users_reset_link(email: str, workspace: str | None = WorkspaceOpt) -> None:
    """Print a single-use password reset link (valid 24 h) for a member."""

    async def go(hub: Hub) -> str:
        ws = await workspace_id(hub, workspace)
        return str((await invites.reset_link(hub, actor=_operator(ws),
                                             user_id=await _user_id(hub, ws, email)))["link"])

    typer.echo(run_with_hub(go))


@app.command("setup-link")
def users_setup_link(workspace: str | None = WorkspaceOpt) -> None:
    """Print a new single-use setup link (24 h) while the first owner has no password yet
    (e.g. the first one expired)."""

    async def go(hub: Hub) -> str:
        ws = await workspace_id(hub, workspace)
        token = await bootstrap_link(hub, workspace_id=ws)
        return invites.link_url(hub, "setup", token)

    typer.echo(run_with_hub(go))
    typer.echo(f"(it sets the e-mail and password of {FIRST_OWNER})", err=True)
