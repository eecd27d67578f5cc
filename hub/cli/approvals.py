"""`hub approvals list|show|approve|reject`: decide on steps waiting for people.

Deciding acts as a person: pass their API token (``--token`` or ``HUB_TOKEN``); the same
checks as the API apply (approvers, separation of duties, input hash), and are audited.
"""

from __future__ import annotations

import typer

from hub.cli.common import WorkspaceOpt, print_json, run_with_hub, workspace_id
from hub.context import Hub

app = typer.Typer(help="List approval requests and approve or reject them.",
                  no_args_is_help=True)
TokenOpt = typer.Option(..., "--token", envvar="HUB_TOKEN",
                        help="The API token of the person deciding (or HUB_TOKEN).")
CommentOpt = typer.Option("", "--comment", "-m", help="Why (kept in the audit trail).")


@app.command("list")
def list_(status: str = typer.Option("pending", "--status", help="pending, approved, "
                                     "rejected, expired, cancelled or all."),
          as_json: bool = typer.Option(False, "--json", help="Print JSON."),
          workspace: str | None = WorkspaceOpt) -> None:
    """Approval requests, newest first."""
    from hub.approvals import service

    async def go(hub: Hub) -> dict:
        ws = await workspace_id(hub, workspace)
        return await service.list_approvals(hub, workspace_id=ws, limit=200,
                                            status=None if status == "all" else status)

    page = run_with_hub(go)
    if as_json:
        print_json(page)
        return
    for item in page["items"]:
        typer.echo(f"{item['id']}  {item['status']:<9} {item['action']:<28} run "
                   f"{item['run_id']} step {item['step_id']}")


@app.command("show")
def show(approval_id: str, workspace: str | None = WorkspaceOpt) -> None:
    """The action, its rendered input and hash, what led to it, and the decisions."""
    from hub.approvals import service

    async def go(hub: Hub) -> dict:
        ws = await workspace_id(hub, workspace)
        return await service.get_approval(hub, workspace_id=ws, approval_id=approval_id)

    print_json(run_with_hub(go))


def _decide(approval_id: str, token: str, comment: str, approve: bool) -> None:
    from hub.approvals import service
    from hub.services.identity import authenticate

    async def go(hub: Hub) -> dict:
        who = await authenticate(hub, token)
        shown = await service.get_approval(hub, workspace_id=who.workspace_id,
                                           approval_id=approval_id)
        return await service.decide(hub, principal=who, approval_id=approval_id,
                                    approve=approve, comment=comment,
                                    input_hash=shown["input_hash"])

    out = run_with_hub(go)
    typer.echo(f"ok: {approval_id} is {out['status']} ({out['approvals']} of "
               f"{out['min_approvals']} approvals)")


@app.command("approve")
def approve(approval_id: str, token: str = TokenOpt, comment: str = CommentOpt) -> None:
    """Approve: the run goes on with exactly the input shown by `hub approvals show`."""
    _decide(approval_id, token, comment, True)


@app.command("reject")
def reject(approval_id: str, token: str = TokenOpt, comment: str = CommentOpt) -> None:
    """Reject: the run ends `rejected`."""
    _decide(approval_id, token, comment, False)
