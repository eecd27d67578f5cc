"""Backup and restore of the embedded SQLite database.

``backup`` copies the live database with SQLite's online backup API in one step: under WAL a
reader does not block the writer, so the copy is a consistent snapshot taken while the hub
serves. The copy is written next to its destination and renamed into place (a crash leaves
no half-written backup), with mode 0600: sealed credentials stay sealed, but the file is
still the workspace's data. The key ring is never in it: without the key ring a backup's
credentials and payloads cannot be read, and with it they can, so they are kept apart.

PostgreSQL databases are backed up with PostgreSQL's own tools (``pg_dump``); see
``pg_dump_command``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

from hub.errors import HubError
from hub.store.schema import Revision, applied, known


def sqlite_path(url: str) -> Path:
    """The file of a ``sqlite+aiosqlite:///...`` URL."""
    return Path(url.split(":///", 1)[-1].split("?", 1)[0])


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=30)
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


def _copy(src: sqlite3.Connection, target: Path) -> int:
    """Copy ``src`` into a new file ``target`` (atomically, 0600); its size in bytes."""
    tmp = target.with_name(f".{target.name}.partial")
    tmp.unlink(missing_ok=True)
    os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        dst = sqlite3.connect(tmp)
        try:
            src.backup(dst)  # all pages in one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
        finally:
            dst.close()
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return target.stat().st_size


def backup_sqlite(database: Path, target: Path, *, overwrite: bool = False) -> int:
    """Write a consistent copy of ``database`` to ``target``; its size in bytes."""
    if not database.is_file():
        raise HubError(f"no database at {database}", code="database_not_found")
    if target.exists() and not overwrite:
        raise HubError(f"{target} exists (pass --force to replace it)", code="file_exists")
    if target.resolve() == database.resolve():
        raise HubError("the backup cannot replace the database itself", code="invalid_argument")
    src = _connect(database)
    try:
        return _copy(src, target)
    finally:
        src.close()


def check_backup(path: Path, revisions: dict[str, Revision] | None = None) -> set[str]:
    """Refuse a file that is not an intact hub database this hub can open; its revisions."""
    if not path.is_file():
        raise HubError(f"no such file: {path}", code="file_not_found")
    with path.open("rb") as fh:
        if fh.read(16) != b"SQLite format 3\x00":
            raise HubError(f"{path} is not a SQLite database", code="invalid_backup")
    revisions = revisions or known()
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if conn.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise HubError(f"{path} is damaged (quick_check failed)", code="invalid_backup")
            rows = {r[0] for r in conn.execute("SELECT version_num FROM alembic_version")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise HubError(f"{path} is not a hub database: {exc}", code="invalid_backup") from None
    if not rows or not applied(rows, revisions):
        raise HubError(f"{path} is not a hub database", code="invalid_backup")
    if rows - set(revisions):
        raise HubError(f"{path} comes from a newer hub (revision "
                       f"{', '.join(sorted(rows - set(revisions)))}): upgrade this hub first",
                       code="schema_too_new")
    return rows


def _is_empty(database: Path) -> bool:
    if not database.exists() or database.stat().st_size == 0:
        return True
    conn = _connect(database)
    try:
        return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
    finally:
        conn.close()


def restore_sqlite(source: Path, database: Path) -> int:
    """Restore the backup ``source`` as ``database``, which must not hold data yet."""
    check_backup(source)
    if not _is_empty(database):
        raise HubError(f"{database} already holds data: restore into an empty data directory",
                       code="restore_target_not_empty")
    database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    for stale in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        return _copy(src, database)
    finally:
        src.close()


def pg_dump_command(url: str, schema: str | None, target: str) -> str:
    """The documented PostgreSQL backup command for this database (password hidden)."""
    from sqlalchemy.engine import make_url

    shown = make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    only = f" --schema={schema}" if schema else ""
    return f"pg_dump --format=custom{only} --file={target} '{shown}'"
