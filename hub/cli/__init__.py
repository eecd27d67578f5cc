"""The ``hub`` command (Typer).

Subcommands load lazily (``hub.cli.lazy``): this module imports nothing but Typer, so
``hub --help`` and commands that need no database start fast. A new command goes in
``COMMANDS``; its module may import what it needs at the top.
"""

from __future__ import annotations

import typer

from hub.cli.lazy import Lazy, LazyGroup

COMMANDS: dict[str, Lazy] = {
    "serve": Lazy("hub.cli.serve:serve", "Start the hub: API, webhooks and a worker."),
    "worker": Lazy("hub.cli.serve:worker", "Run a worker alone against the configured database."),
    "run": Lazy("hub.cli.runs:run_command", "Start a run of a zap here and print its result."),
    "zaps": Lazy("hub.cli.zaps:app", "Create, version and export zaps."),
    "runs": Lazy("hub.cli.runs:app", "List and inspect runs."),
    "plugins": Lazy("hub.cli.admin:plugins_app", "Inspect plugins."),
    "plugin": Lazy("hub.cli.plugin:app", "Write plugins."),
    "catalog": Lazy("hub.cli.plugin:catalog", "What the installed plugins offer."),
    "tokens": Lazy("hub.cli.admin:tokens_app", "Manage API tokens (operator access)."),
    "db": Lazy("hub.cli.database:app", "Database maintenance: upgrade, check, prune."),
    "backup": Lazy("hub.cli.backup:backup", "Back up the database (the key ring apart)."),
    "restore": Lazy("hub.cli.backup:restore", "Restore a backup into an empty data directory."),
    "connections": Lazy("hub.cli.connections:app", "Connections: app credentials, encrypted."),
    "keys": Lazy("hub.cli.keys:app", "Key-encryption keys: status, rotate, retire."),
    "audit": Lazy("hub.cli.audit:app", "Check and export the audit trail."),
    "tables": Lazy("hub.cli.tables:app", "Data tables: typed rows shared by zaps and AI steps."),
    "users": Lazy("hub.cli.people:app", "People of a workspace (operator access)."),
    "approvals": Lazy("hub.cli.approvals:app", "Approve or reject steps waiting for people."),
}


class HubGroup(LazyGroup):
    lazy = COMMANDS


app = typer.Typer(name="hub", help="zaphub: an AI orchestration hub.", no_args_is_help=True,
                  pretty_exceptions_enable=False, add_completion=False, cls=HubGroup)


@app.callback()
def _hub() -> None:
    """zaphub: an AI orchestration hub."""


def main() -> None:
    from hub.cli.common import reported_errors

    with reported_errors():  # e.g. `hub worker` refusing to start: one line, no traceback
        app()
