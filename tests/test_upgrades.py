"""Upgrades: from every earlier schema with data in every table, `hub db upgrade --check`,
nodes refusing a newer schema, and two migrations at once (one waits)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from hub.cli import app
from hub.context import Hub
from hub.settings import Settings
from hub.store.db import Database, _upgrade
from hub.store.schema import SchemaTooNew, known, schema_state


def sample(column: sa.Column, n: int) -> Any:
    """A value of the column's type (strings fit their length)."""
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return True
    if isinstance(kind, sa.Integer):
        return n + 1
    if isinstance(kind, sa.Float | sa.Numeric):
        return n + 0.5
    if isinstance(kind, sa.LargeBinary):
        return b"\x00bytes\xff"
    if isinstance(kind, sa.JSON):
        return {"k": [n, "v"]}
    text = f"{column.name}-{n}"
    length = getattr(kind, "length", None)
    return text[-length:] if length else text


def fill_every_table(conn: sa.Connection) -> dict[str, dict[str, Any]]:
    """One row in every table of the schema as it is, parents first; returns the rows."""
    meta = sa.MetaData()
    meta.reflect(conn)
    rows: dict[str, dict[str, Any]] = {}
    for n, table in enumerate(meta.sorted_tables):
        if table.name == "alembic_version":
            continue
        row = {}
        for column in table.columns:
            fk = next(iter(column.foreign_keys), None)
            if fk is not None and fk.column.table.name in rows:
                row[column.name] = rows[fk.column.table.name][fk.column.name]
            else:
                row[column.name] = sample(column, n)
        conn.execute(table.insert().values(row))
        rows[table.name] = row
    return rows


def read_back(conn: sa.Connection, rows: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """For each table filled before the upgrade: the columns that changed (none expected)."""
    meta = sa.MetaData()
    meta.reflect(conn)
    changed: dict[str, Any] = {}
    for name, row in rows.items():
        table = meta.tables[name]
        pk = [c.name for c in table.primary_key.columns] or list(row)
        found = conn.execute(sa.select(table).where(*[
            table.c[c] == row[c] for c in pk if c in table.c])).mappings().all()
        if len(found) != 1:
            changed[name] = f"{len(found)} rows"
            continue
        diff = {c: (v, found[0][c]) for c, v in row.items()
                if c in found[0] and _norm(found[0][c]) != _norm(v)}
        if diff:
            changed[name] = diff
    return changed


def _norm(value: Any) -> Any:
    return bytes(value) if isinstance(value, memoryview) else value


@pytest.mark.parametrize("revision", sorted(known()))
async def test_upgrade_from_every_earlier_revision_keeps_the_data(
        settings: Settings, revision: str) -> None:
    db = Database.from_settings(settings)
    try:
        async with db.write() as conn:
            await conn.run_sync(_upgrade, revision)
            rows = await conn.run_sync(fill_every_table)
        async with db.read() as conn:
            assert not (await schema_state(conn)).up_to_date
        await db.migrate()
        async with db.read() as conn:
            assert (await schema_state(conn)).up_to_date
            assert await conn.run_sync(read_back, rows) == {}
        assert "workspaces" in rows and len(rows) >= 7
    finally:
        await db.close()


def cli_env(settings: Settings) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(settings.data_dir),
               HUB_DATABASE_URL=settings.resolved_database_url)
    if settings.database_schema:
        env["HUB_DATABASE_SCHEMA"] = settings.database_schema
    return env


async def test_upgrade_check_tells_whether_an_upgrade_is_pending(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in cli_env(settings).items():
        if name.startswith("HUB_"):
            monkeypatch.setenv(name, value)
    result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "upgrade", "--check"])
    assert result.exit_code == 1 and "upgrade pending: 0001" in result.output
    result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    result = await asyncio.to_thread(CliRunner().invoke, app, ["db", "upgrade", "--check"])
    assert result.exit_code == 0 and "up to date" in result.output


async def make_too_new(settings: Settings) -> None:
    db = Database.from_settings(settings)
    try:
        await db.migrate()
        async with db.write() as conn:
            await conn.execute(sa.text("INSERT INTO alembic_version VALUES ('9999')"))
    finally:
        await db.close()


async def test_nodes_refuse_a_schema_newer_than_they_know(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    await make_too_new(settings)
    with pytest.raises(SchemaTooNew, match="9999"):
        await Hub.open(settings)
    for name, value in cli_env(settings).items():
        if name.startswith("HUB_"):
            monkeypatch.setenv(name, value)
    for args in (["db", "upgrade", "--check"], ["db", "upgrade"]):
        result = await asyncio.to_thread(CliRunner().invoke, app, args)
        assert result.exit_code == 2
        assert result.stderr.startswith("error[schema_too_new]: ")
        assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("command", ["serve", "worker"])
async def test_serve_and_worker_refuse_a_newer_schema_in_one_line(
        tmp_path: Path, command: str) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    await make_too_new(settings)
    env = cli_env(settings) | {"HUB_PORT": "1"}  # never bound: the start is refused first
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "hub", command], env=env, capture_output=True,
        text=True, timeout=60)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error[")]
    assert lines and lines[0].startswith("error[schema_too_new]: ")


async def test_two_migrations_at_once_one_waits(settings: Settings) -> None:
    if not settings.database_url:
        pytest.skip("the advisory lock is PostgreSQL's")
    url = settings.database_url.replace("postgresql+asyncpg", "postgresql")
    holder = await asyncpg.connect(url)
    try:
        await holder.execute("SELECT pg_advisory_lock(7215843)")
        cmd = [sys.executable, "-m", "hub", "db", "upgrade"]
        procs = [subprocess.Popen(cmd, env=cli_env(settings), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
        await asyncio.sleep(3.0)
        assert [p.poll() for p in procs] == [None, None]  # both wait for the lock
        await holder.execute("SELECT pg_advisory_unlock(7215843)")
        started = time.monotonic()
        for p in procs:
            out, err = await asyncio.to_thread(p.communicate, timeout=60)
            assert p.returncode == 0, err
            assert "up to date" in out
        assert time.monotonic() - started < 60
    finally:
        await holder.close()
    db = Database.from_settings(settings)
    try:
        async with db.read() as conn:
            assert (await schema_state(conn)).up_to_date
    finally:
        await db.close()
