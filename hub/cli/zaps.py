"""`hub zaps ...`: import, export, list, schema, enable, disable."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hub.cli.common import WorkspaceOpt, fail, print_json, run_with_hub, workspace_id
from hub.cli.lazy import lazy_module

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.context import Hub

service = lazy_module("hub.services.zaps")
model = lazy_module("hub.zaps")

app = typer.Typer(help="Create, version and export zaps.", no_args_is_help=True)


def _read(file: str, limit: int) -> bytes:
    """At most ``limit + 1`` bytes: enough for ``parse_document`` to refuse a larger file."""
    if file == "-":
        return sys.stdin.buffer.read(limit + 1)
    path = Path(file)
    if not path.is_file():
        raise fail(f"no such file: {file}", error="file_not_found")
    with path.open("rb") as fh:
        return fh.read(limit + 1)


@app.command("import")
def import_(file: str = typer.Argument(..., help="A YAML or JSON zap file, or - for stdin."),
            workspace: str | None = WorkspaceOpt) -> None:
    """Create a zap from FILE, or save a new version of the zap with the same name."""
    from hub.settings import Settings

    settings = Settings()
    raw = _read(file, settings.api_max_body)
    fmt = "json" if file.endswith(".json") else None

    async def go(hub: Hub) -> None:
        doc = model.parse_document(raw, fmt, max_bytes=settings.api_max_body,  # type: ignore[arg-type]
                             max_depth=settings.max_json_depth)
        ws = await workspace_id(hub, workspace)
        zap, created = await service.import_zap(hub, workspace_id=ws, document=doc)
        verb = "created" if created else "updated"
        typer.echo(f"{verb} zap {zap['id']} '{zap['name']}' version {zap['version']}")

    run_with_hub(go)


@app.command()
def export(zap: str = typer.Argument(..., help="Zap id or name."),
           format: str = typer.Option("yaml", "--format", "-f", help="yaml or json"),
           workspace: str | None = WorkspaceOpt) -> None:
    """Print the zap's current definition as YAML or JSON."""
    if format not in ("yaml", "json"):
        raise fail("--format must be yaml or json", error="invalid_format")

    async def go(hub: Hub) -> None:
        ws = await workspace_id(hub, workspace)
        zid = await service.resolve(hub, workspace_id=ws, ref=zap)
        sys.stdout.write(await service.export_zap(hub, workspace_id=ws, zap_id=zid, fmt=format))

    run_with_hub(go)


@app.command("list")
def list_(workspace: str | None = WorkspaceOpt,
          as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List zaps."""

    async def go(hub: Hub) -> None:
        items = await service.list_zaps(hub, workspace_id=await workspace_id(hub, workspace))
        if as_json:
            print_json(items)
            return
        for z in items:
            state = "on " if z["enabled"] else "off"
            kind = z["trigger_kind"]
            typer.echo(f"{z['id']}  {state}  v{z['version']:<3} {kind:<10} {z['name']}")

    run_with_hub(go)


@app.command()
def schema() -> None:
    """Print the JSON Schema of a zap document."""
    sys.stdout.write(json.dumps(model.Zap.model_json_schema(), indent=2) + "\n")


def _toggle(zap: str, workspace: str | None, enabled: bool) -> None:
    async def go(hub: Hub) -> None:
        ws = await workspace_id(hub, workspace)
        zid = await service.resolve(hub, workspace_id=ws, ref=zap)
        z = await service.set_enabled(hub, workspace_id=ws, zap_id=zid, enabled=enabled)
        typer.echo(f"zap {z['id']} '{z['name']}' is {'on' if enabled else 'off'}")

    run_with_hub(go)


@app.command()
def enable(zap: str, workspace: str | None = WorkspaceOpt) -> None:
    """Turn a zap on."""
    _toggle(zap, workspace, True)


@app.command()
def disable(zap: str, workspace: str | None = WorkspaceOpt) -> None:
    """Turn a zap off."""
    _toggle(zap, workspace, False)
