"""`hub tables ...`: list, create, show, rows, import, export, delete data tables."""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import typer
import yaml

from hub.cli.common import WorkspaceOpt, print_json, run_with_hub, workspace_id
from hub.cli.lazy import lazy_module
from hub.errors import BadRequest, HubError

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.context import Hub

catalog = lazy_module("hub.tables.catalog")
csvio = lazy_module("hub.tables.csvio")
query = lazy_module("hub.tables.query")
access = lazy_module("hub.tables.access")

T = TypeVar("T")
app = typer.Typer(help="Data tables: typed rows shared by zaps and AI steps.",
                  no_args_is_help=True)
ColumnOpt = typer.Option(None, "--column", "-c",
                         help="NAME:TYPE or NAME:TYPE:indexed (repeatable); types: text, number, "
                         "integer, boolean, datetime, json.")


def _run(fn: Callable[[Hub, str], Awaitable[T]], workspace: str | None) -> T:
    """Run ``fn(hub, workspace id)``; errors print ``error[code]: message`` and exit 2."""

    async def go(hub: Hub) -> T:
        try:
            return await fn(hub, await workspace_id(hub, workspace))
        except HubError as exc:
            typer.echo(f"error[{exc.code}]: {exc.message}", err=True)
            raise typer.Exit(2) from None

    return run_with_hub(go)


def _columns(items: list[str]) -> list[dict[str, Any]]:
    out = []
    for item in items:
        parts = item.split(":")
        if len(parts) not in (2, 3) or (len(parts) == 3 and parts[2] != "indexed"):
            raise BadRequest(f"--column takes NAME:TYPE or NAME:TYPE:indexed, not {item!r}",
                             code="invalid_schema")
        out.append({"name": parts[0], "type": parts[1], "indexed": len(parts) == 3})
    return out


def _read_limited(file: str, limit: int) -> bytes:
    if file == "-":
        data = sys.stdin.buffer.read(limit + 1)
    else:
        path = Path(file)
        if not path.is_file():
            raise BadRequest(f"no such file: {file}", code="file_not_found")
        if path.stat().st_size > limit:
            raise HubError(f"the CSV file is larger than {limit} bytes",
                           code="payload_too_large")
        data = path.read_bytes()
    if len(data) > limit:
        raise HubError(f"the CSV file is larger than {limit} bytes", code="payload_too_large")
    return data


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="Print JSON."),
          workspace: str | None = WorkspaceOpt) -> None:
    """The workspace's tables."""

    async def go(hub: Hub, ws: str) -> None:
        items = await catalog.list_tables(access.store_for(hub), workspace_id=ws)
        if as_json:
            print_json(items)
            return
        for t in items:
            typer.echo(f"{t['name']:<24} key {t['key']:<16} {len(t['columns']):>3} columns "
                       f"{t['row_count']:>7} rows")

    _run(go, workspace)


@app.command()
def create(name: str = typer.Argument(None, help="The table's name (unless --schema)."),
           key: str = typer.Option(None, "--key", "-k", help="The unique key column."),
           column: list[str] | None = ColumnOpt,
           schema: str = typer.Option(None, "--schema", help="A JSON or YAML schema file."),
           workspace: str | None = WorkspaceOpt) -> None:
    """Create a table from --column options or a --schema file ({name, key, columns})."""

    async def go(hub: Hub, ws: str) -> None:
        if schema:
            path = Path(schema)
            if not path.is_file() or path.stat().st_size > 1_048_576:
                raise BadRequest(f"no schema file {schema} (of at most 1 MiB)",
                                 code="file_not_found")
            try:
                spec = yaml.safe_load(path.read_text())
            except (yaml.YAMLError, UnicodeDecodeError) as exc:
                raise BadRequest(f"{schema} is not JSON or YAML: {exc}"[:300],
                                 code="invalid_schema") from None
        else:
            spec = {"name": name, "key": key, "columns": _columns(column or [])}
        out = await catalog.create_table(access.store_for(hub), workspace_id=ws, spec=spec)
        typer.echo(f"created table '{out['name']}' (key {out['key']}, "
                   f"{len(out['columns'])} columns)")

    _run(go, workspace)


@app.command()
def show(table: str = typer.Argument(..., help="The table's name."),
         workspace: str | None = WorkspaceOpt) -> None:
    """A table's schema and row count, as JSON."""

    async def go(hub: Hub, ws: str) -> None:
        print_json(await catalog.get_table(access.store_for(hub), workspace_id=ws, name=table))

    _run(go, workspace)


@app.command("rows")
def rows_(table: str = typer.Argument(..., help="The table's name."),
          where: str = typer.Option(None, "--where", help='A JSON filter, e.g. {"plan": "pro"}'),
          limit: int = typer.Option(50, "--limit", "-n", help="Rows per page."),
          cursor: str = typer.Option(None, "--cursor", help="next_cursor of the last page."),
          workspace: str | None = WorkspaceOpt) -> None:
    """One page of rows as JSON: {items, next_cursor}."""

    async def go(hub: Hub, ws: str) -> None:
        try:
            flt = json.loads(where) if where else None
        except (ValueError, RecursionError):
            raise BadRequest("--where must be a JSON object", code="invalid_filter") from None
        read = query.Read(where=flt, limit=limit, cursor=cursor)
        print_json(await query.page(access.store_for(hub), workspace_id=ws, name=table, read=read))

    _run(go, workspace)


@app.command("import")
def import_(table: str = typer.Argument(..., help="The table's name."),
            file: str = typer.Argument(..., help="A UTF-8 CSV file with a header row, or -."),
            mode: str = typer.Option("insert", "--mode", help="insert or upsert."),
            workspace: str | None = WorkspaceOpt) -> None:
    """Import a CSV file: all rows or none; errors name the row."""

    async def go(hub: Hub, ws: str) -> None:
        store = access.store_for(hub)
        data = _read_limited(file, store.limits.csv_max_bytes)
        out = await csvio.import_csv(store, workspace_id=ws, name=table, data=data, mode=mode)
        typer.echo(f"imported into '{table}': {out['inserted']} inserted, "
                   f"{out['updated']} updated")

    _run(go, workspace)


@app.command()
def export(table: str = typer.Argument(..., help="The table's name."),
           output: str = typer.Option(None, "--output", "-o", help="File (default: stdout)."),
           workspace: str | None = WorkspaceOpt) -> None:
    """Write the table as CSV (formula-like text cells are prefixed with ')."""

    async def go(hub: Hub, ws: str) -> None:
        chunks = await csvio.export_csv(access.store_for(hub), workspace_id=ws, name=table)
        if output is None:
            async for chunk in chunks:
                sys.stdout.write(chunk)
            return
        with open(output, "w", encoding="utf-8", newline="") as out:
            async for chunk in chunks:
                out.write(chunk)

    _run(go, workspace)


@app.command()
def delete(table: str = typer.Argument(..., help="The table's name."),
           yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
           workspace: str | None = WorkspaceOpt) -> None:
    """Delete a table and all its rows (refused while a zap uses it)."""
    if not yes:
        typer.confirm(f"Delete table '{table}' and all its rows?", abort=True)

    async def go(hub: Hub, ws: str) -> None:
        await catalog.delete_table(access.store_for(hub), workspace_id=ws, name=table)
        typer.echo(f"deleted table '{table}'")

    _run(go, workspace)
