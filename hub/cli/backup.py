"""`hub backup FILE` and `hub restore FILE`: the database, consistent while the hub serves.

The key ring is never in a backup; both commands say where it is and how to keep it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hub.cli.common import fail

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.settings import Settings


def _key_ring_note(settings: Settings, *, restoring: bool) -> str:
    if settings.master_key is not None:
        where = "the key ring comes from HUB_MASTER_KEY: keep that value in your secret store"
    else:
        ring = (settings.data_dir / "master.key").absolute()
        where = (f"copy your saved key ring to {ring} (mode 0600) before starting the hub"
                 if restoring else
                 f"back up the key ring {ring} separately (e.g. `cp -p {ring} /safe/place/`) "
                 "and store it apart from this backup")
    return ("The key ring is NOT in the backup: without it the stored credentials and "
            f"payloads cannot be read. {where[0].upper()}{where[1:]}.")


def _postgres_refusal(settings: Settings, file: Path, *, restoring: bool) -> typer.Exit:
    from hub.store.backup import pg_dump_command

    cmd = pg_dump_command(settings.resolved_database_url, settings.database_schema, str(file))
    if restoring:
        typer.echo(f"on PostgreSQL restore a pg_dump file with: pg_restore --dbname=URL {file}",
                   err=True)
    else:
        typer.echo(f"on PostgreSQL back up with pg_dump:\n  {cmd}", err=True)
    typer.echo(_key_ring_note(settings, restoring=restoring), err=True)
    return fail("hub backup and hub restore handle the embedded SQLite database; use "
                "PostgreSQL's own tools for PostgreSQL", error="use_pg_dump")


def backup(file: Path = typer.Argument(..., help="Where to write the backup."),
           force: bool = typer.Option(False, "--force", help="Replace FILE if it exists.")
           ) -> None:
    """Back up the database to FILE, consistently, while the hub keeps running (SQLite; on
    PostgreSQL this prints the pg_dump command). The key ring is backed up separately."""
    from hub.cli.serve import load_settings
    from hub.errors import HubError
    from hub.store.backup import backup_sqlite, sqlite_path

    settings = load_settings()
    if not settings.is_sqlite:
        raise _postgres_refusal(settings, file, restoring=False)
    try:
        size = backup_sqlite(sqlite_path(settings.resolved_database_url), file,
                             overwrite=force)
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None
    typer.echo(f"backed up the database to {file} ({size} bytes)")
    typer.echo(_key_ring_note(settings, restoring=False))


def restore(file: Path = typer.Argument(..., help="A file written by `hub backup`.")) -> None:
    """Restore FILE into an empty data directory (HUB_DATA_DIR); then restore the key ring
    and start the hub (it upgrades an older schema itself)."""
    from hub.cli.serve import load_settings
    from hub.errors import HubError
    from hub.store.backup import restore_sqlite, sqlite_path

    settings = load_settings()
    if not settings.is_sqlite:
        raise _postgres_refusal(settings, file, restoring=True)
    target = sqlite_path(settings.resolved_database_url)
    try:
        size = restore_sqlite(file, target)
    except HubError as exc:
        raise fail(exc.message, error=exc.code) from None
    typer.echo(f"restored {file} to {target} ({size} bytes)")
    typer.echo(_key_ring_note(settings, restoring=True))
