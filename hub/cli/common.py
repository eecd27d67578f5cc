"""Shared CLI plumbing: open the hub for one command, pick the workspace, report errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import sqlalchemy as sa
import typer

from hub.context import Hub
from hub.errors import HubError, NotFound, ZapInvalid
from hub.services.identity import bootstrap
from hub.settings import Settings
from hub.store.tables import workspaces

T = TypeVar("T")

WorkspaceOpt = typer.Option(None, "--workspace", "-w", help="Workspace id (default: the only one).")


def error_line(code: str, message: str) -> str:
    """The one format of every CLI error: ``error[code]: message``."""
    return f"error[{code}]: {message}"


def fail(message: str, code: int = 2, *, error: str = "invalid_argument") -> typer.Exit:
    """Print ``error[<error>]: <message>`` on stderr; return the exit to raise."""
    typer.echo(error_line(error, message), err=True)
    return typer.Exit(code)


def refusal_line(exc: HubError) -> str:
    """The one line a command prints for an error with a stable code (no traceback)."""
    return error_line(exc.code, exc.message)


@contextlib.contextmanager
def reported_errors() -> Iterator[None]:
    """Turn an error with a stable code that escaped a command (e.g. a refusal to start:
    ``missing_key``) into one line on stderr and exit status 2."""
    try:
        yield
    except HubError as exc:
        sys.stderr.write(refusal_line(exc) + "\n")
        sys.stderr.flush()
        raise SystemExit(2) from None


def run_with_hub(fn: Callable[[Hub], Awaitable[T]]) -> T:
    """Open the hub, run ``fn``, close it; turn errors into one-line messages and exit 2."""
    from hub.logs import setup_logging

    settings = Settings()
    setup_logging(settings.log_level if settings.log_level != "INFO" else "WARNING",
                  settings.log_format)

    async def main() -> T:
        from hub import audit

        audit.act_as(audit.Actor("cli", "operator"))  # the operator at the console
        hub = await Hub.open(settings)
        try:
            return await fn(hub)
        finally:
            await hub.close()

    try:
        return asyncio.run(main())
    except ZapInvalid as exc:
        for err in exc.errors:
            where = f"{err['path']}: " if err["path"] else ""
            typer.echo(error_line(exc.code, f"{where}{err['message']}"), err=True)
        raise typer.Exit(2) from None
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None


async def workspace_id(hub: Hub, given: str | None) -> str:
    """The workspace to act in; on an empty database create the first one (printing its token)."""
    if given:
        async with hub.db.read() as conn:
            row = (await conn.execute(sa.select(workspaces.c.id).where(
                workspaces.c.id == given))).first()
        if row is None:
            raise NotFound(f"no workspace '{given}'", code="workspace_not_found")
        return row.id
    token = await bootstrap(hub)
    if token:
        from hub.web.app import print_setup_token

        print_setup_token(token, hub.settings)
    async with hub.db.read() as conn:
        rows = (await conn.execute(sa.select(workspaces.c.id).limit(2))).all()
    if len(rows) > 1:
        raise HubError("several workspaces exist: pass --workspace ID", code="workspace_required")
    return rows[0].id


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
