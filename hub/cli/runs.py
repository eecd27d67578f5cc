"""`hub run` and `hub runs ...`: start a run and print its result; list and inspect runs."""

from __future__ import annotations

import typer

from hub.cli.common import (
    WorkspaceOpt,
    error_line,
    fail,
    print_json,
    run_with_hub,
    workspace_id,
)
from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import HubError
from hub.parsing import loads_json
from hub.services import runs as service
from hub.services import zaps as zap_service
from hub.settings import Settings

app = typer.Typer(help="List and inspect runs.", no_args_is_help=True)


def run_command(
    zap: str = typer.Argument(..., help="Zap id or name."),
    input: str = typer.Option("{}", "--input", "-i", help="JSON input, becomes `trigger`."),
    timeout: float = typer.Option(300.0, help="Seconds to wait for the run."),
    full: bool = typer.Option(False, "--full", help="Print the whole run, steps included."),
    workspace: str | None = WorkspaceOpt,
) -> None:
    """Start a run of ZAP with a JSON input, execute it here, and print its result."""
    try:
        data = loads_json(input, max_depth=Settings().max_json_depth, what="--input")
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None

    async def go(hub: Hub) -> dict:
        ws = await workspace_id(hub, workspace)
        zid = await zap_service.resolve(hub, workspace_id=ws, ref=zap)
        run = await service.start_run(hub, workspace_id=ws, zap_id=zid, data=data)
        worker = hub.worker = Worker(hub, poll_interval=0.05)
        worker.start()
        try:
            return await service.wait_for_run(hub, workspace_id=ws, run_id=run["id"],
                                              timeout=timeout)
        finally:
            await worker.stop()

    detail = run_with_hub(go)
    print_json(detail if full else detail["result"])
    status = detail["status"]
    if status == "failed":
        err = detail.get("error") or {}
        typer.echo(error_line(err.get("code") or "run_failed",
                              f"run {detail['id']} failed: {err.get('message')}"), err=True)
        raise typer.Exit(1)
    if status not in ("succeeded", "filtered"):
        typer.echo(f"run {detail['id']} is {status}", err=True)
        raise typer.Exit(1)


@app.command("list")
def list_(zap: str | None = typer.Option(None, "--zap", help="Zap id or name."),
          status: str | None = typer.Option(None, "--status"),
          limit: int = typer.Option(20, min=1, max=200),
          as_json: bool = typer.Option(False, "--json"),
          workspace: str | None = WorkspaceOpt) -> None:
    """List runs, newest first."""

    async def go(hub: Hub) -> dict:
        ws = await workspace_id(hub, workspace)
        zid = await zap_service.resolve(hub, workspace_id=ws, ref=zap) if zap else None
        return await service.list_runs(hub, workspace_id=ws, zap_id=zid, status=status,
                                       limit=limit)

    page = run_with_hub(go)
    if as_json:
        print_json(page)
        return
    for r in page["items"]:
        code = (r["error"] or {}).get("code", "")
        typer.echo(f"{r['id']}  {r['status']:<9} {r['zap_id']} v{r['zap_version']} {code}")


@app.command()
def show(run_id: str, workspace: str | None = WorkspaceOpt) -> None:
    """Show a run with every step attempt."""

    async def go(hub: Hub) -> dict:
        ws = await workspace_id(hub, workspace)
        return await service.get_run(hub, workspace_id=ws, run_id=run_id)

    print_json(run_with_hub(go))


@app.command()
def lineage(run_id: str, workspace: str | None = WorkspaceOpt) -> None:
    """How the run came about: trigger, steps, model decisions, guardrail verdicts,
    approvals, outcome and its audit records (JSON)."""
    from hub.services.lineage import lineage as run_lineage

    async def go(hub: Hub) -> dict:
        ws = await workspace_id(hub, workspace)
        return await run_lineage(hub, workspace_id=ws, run_id=run_id)

    print_json(run_with_hub(go))
