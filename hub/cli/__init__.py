"""The ``hub`` command (Typer)."""

from __future__ import annotations

import typer

from hub.cli import admin, audit, connections, keys, people, plugin, runs, serve, zaps
from hub.cli import approvals as approval_cli
from hub.cli import tables as data_tables
from hub.cli.common import reported_errors

app = typer.Typer(name="hub", help="zaphub: an AI orchestration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False)
app.command()(serve.serve)
app.command()(serve.worker)
app.command("run")(runs.run_command)
app.add_typer(zaps.app, name="zaps")
app.add_typer(runs.app, name="runs")
app.add_typer(admin.plugins_app, name="plugins")
app.add_typer(plugin.app, name="plugin")
app.command("catalog")(plugin.catalog)
app.add_typer(admin.tokens_app, name="tokens")
app.add_typer(admin.db_app, name="db")
app.add_typer(connections.app, name="connections")
app.add_typer(keys.app, name="keys")
app.add_typer(audit.app, name="audit")
app.add_typer(data_tables.app, name="tables")
app.add_typer(approval_cli.app, name="approvals")
app.add_typer(people.app, name="users")


def main() -> None:
    with reported_errors():  # e.g. `hub worker` refusing to start: one line, no traceback
        app()
