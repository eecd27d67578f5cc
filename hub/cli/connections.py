"""`hub connections ...`: create (prompting for secrets without echo), list, show, test, delete."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import typer

from hub.cli.common import (
    WorkspaceOpt,
    error_line,
    fail,
    print_json,
    run_with_hub,
    workspace_id,
)
from hub.cli.lazy import lazy_module
from hub.errors import BadRequest, NotFound

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from pydantic import BaseModel

    from hub.context import Hub

service = lazy_module("hub.services.connections")

app = typer.Typer(help="Connections: app credentials, stored encrypted.", no_args_is_help=True)

SetOpt = typer.Option(None, "--set", "-s", help="A non-secret field: NAME=VALUE (repeatable).")


def _pairs(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise fail(f"--set takes NAME=VALUE, not {item!r}", error="invalid_option")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def _is_secret(model: type[BaseModel], name: str) -> bool:
    prop = model.model_json_schema().get("properties", {}).get(name, {})
    options = [prop, *prop.get("anyOf", [])]
    return any(o.get("writeOnly") or o.get("format") == "password" for o in options)


def prompt_values(model: type[BaseModel], given: dict[str, Any]) -> dict[str, Any]:
    """Ask for the fields not given: secrets without echo, others with their default."""
    for name in given:
        if _is_secret(model, name):
            raise BadRequest(f"'{name}' is secret: leave it out and type it at the prompt "
                             "(values on the command line end up in shell history)",
                             code="secret_on_command_line")
    values = dict(given)
    for name, field in model.model_fields.items():
        if name in values:
            continue
        label = field.title or name
        if _is_secret(model, name):
            answer = typer.prompt(label, hide_input=True, default="" if not field.is_required()
                                  else None, show_default=False)
        elif field.is_required():
            answer = typer.prompt(label)
        else:
            continue
        if answer != "":
            values[name] = answer
    return values


@app.command()
def create(connector: str = typer.Argument(..., help="The connector's key."),
           name: str = typer.Option(..., "--name", "-n", help="Unique in the workspace."),
           set_: list[str] | None = SetOpt, workspace: str | None = WorkspaceOpt) -> None:
    """Check and store a connection; secret fields are prompted for without echo."""
    given = _pairs(set_)

    async def go(hub: Hub) -> None:
        ws = await workspace_id(hub, workspace)
        cls = hub.registry.connectors.get(connector)
        if cls is None:
            raise NotFound(f"no connector '{connector}'", code="connector_not_found")
        values = prompt_values(cls.Credentials, given)
        out = await service.create_connection(hub, workspace_id=ws, connector=connector,
                                              name=name, values=values)
        typer.echo(f"created connection {out['id']} '{out['name']}' ({connector})")

    run_with_hub(go)


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json"),
          workspace: str | None = WorkspaceOpt) -> None:
    """The workspace's connections."""

    async def go(hub: Hub) -> None:
        rows = await service.list_connections(hub, workspace_id=await workspace_id(hub, workspace))
        if as_json:
            print_json(rows)
            return
        for row in rows:
            typer.echo(f"{row['id']}  {row['name']:<24} {row['connector']:<16} {row['status']}")

    run_with_hub(go)


@app.command()
def show(connection: str = typer.Argument(..., help="Connection id or name."),
         workspace: str | None = WorkspaceOpt) -> None:
    """A connection with its fields (secrets masked)."""

    async def go(hub: Hub) -> None:
        print_json(await service.get_connection(
            hub, workspace_id=await workspace_id(hub, workspace), connection_id=connection))

    run_with_hub(go)


@app.command()
def test(connection: str = typer.Argument(..., help="Connection id or name."),
         workspace: str | None = WorkspaceOpt) -> None:
    """Run the connector's check again (exit 1 when it fails)."""

    async def go(hub: Hub) -> dict[str, Any]:
        return await service.test_connection(
            hub, workspace_id=await workspace_id(hub, workspace), connection_id=connection)

    result = run_with_hub(go)
    if not result["ok"]:
        typer.echo(error_line(result["code"], result["message"]), err=True)
        raise typer.Exit(1)
    typer.echo("ok")


@app.command()
def delete(connection: str = typer.Argument(..., help="Connection id or name."),
           workspace: str | None = WorkspaceOpt) -> None:
    """Delete a connection (refused while a zap uses it)."""

    async def go(hub: Hub) -> None:
        await service.delete_connection(hub, workspace_id=await workspace_id(hub, workspace),
                                        connection_id=connection)
        typer.echo(f"deleted connection '{connection}'")

    run_with_hub(go)
