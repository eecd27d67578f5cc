"""`hub audit verify` and `hub audit export`: check and read the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer

from hub.cli.common import WorkspaceOpt, fail, run_with_hub

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.context import Hub

app = typer.Typer(help="Check and export the audit trail.", no_args_is_help=True)


def _when(value: str | None, name: str) -> float | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise fail(f"{name} is not an ISO 8601 date or time: {value!r}") from None


@app.command("verify")
def verify(workspace: str | None = WorkspaceOpt) -> None:
    """Recompute every workspace's hash chain (or one's); exit 1 naming the first broken record."""
    from hub import audit

    async def go(hub: Hub) -> list[audit.Verdict]:
        return await audit.verify_all(hub.db, [workspace] if workspace else None)

    verdicts = run_with_hub(go)
    broken = [v for v in verdicts if not v.ok]
    for v in verdicts:
        if v.ok:
            typer.echo(f"ok: workspace {v.workspace_id}: {v.checked} records, "
                       f"head {v.head_hash}")
        else:
            typer.echo(f"error[audit_chain_broken]: workspace {v.workspace_id}: record "
                       f"{v.broken_seq}: {v.reason}", err=True)
    if not verdicts:
        typer.echo("ok: no audit records yet")
    if broken:
        raise typer.Exit(1)


@app.command("export")
def export(since: str | None = typer.Option(None, help="ISO date/time, e.g. 2026-11-01."),
           until: str | None = typer.Option(None, help="ISO date/time (exclusive)."),
           format: str = typer.Option("jsonl", "--format", "-f", help="jsonl or json"),
           workspace: str | None = WorkspaceOpt) -> None:
    """Print the workspace's audit records, oldest first (JSON lines, or one JSON array)."""
    from hub import audit
    from hub.cli.common import workspace_id

    if format not in ("jsonl", "json"):
        raise fail("--format must be jsonl or json")
    filters = {"since": _when(since, "--since"), "until": _when(until, "--until")}

    async def go(hub: Hub) -> int:
        ws = await workspace_id(hub, workspace)
        count = 0
        if format == "json":
            typer.echo("[")
        async for record in audit.export(hub.db, ws, filters):
            line = audit.canonical(record)
            typer.echo(("," if count and format == "json" else "") + line)
            count += 1
        if format == "json":
            typer.echo("]")
        return count

    run_with_hub(go)
