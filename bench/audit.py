"""Audit trail benchmark: how fast ``hub audit verify`` recomputes a chain.

    taskset -c 0 python bench/audit.py [--records 200000] [--rounds 3] [--db URL]

Writes N records (realistic size: actor, target, run id and a small data object) to a fresh
database in transactions of 500, then times ``verify`` over the whole chain. Prints records/s
for appending and for verifying (median of the rounds). Target: verify >= 100,000 records/s
on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hub import audit
from hub.audit import Actor, Entry
from hub.context import Hub
from hub.ids import new_id
from hub.services import identity
from hub.settings import Settings


async def _round(settings: Settings, n: int) -> tuple[float, float]:
    hub = await Hub.open(settings)
    try:
        await identity.bootstrap(hub)
        async with hub.db.read() as conn:
            ws = (await conn.execute(sa.text("SELECT id FROM workspaces"))).scalar_one()
        actor = Actor("user", new_id("usr"), new_id("tok"))
        t0 = time.perf_counter()
        for lo in range(0, n, 500):
            run = new_id("run")
            async with hub.db.write() as conn:
                await audit.append(conn, [
                    Entry(ws, "step.side_effect", actor, "step", f"{run}:send", run,
                          {"connector": "slack", "action": "post_message", "outcome": "ok",
                           "idempotency_key": f"{run}:send", "attempt": 1})
                    for _ in range(min(500, n - lo))])
        append_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        verdict = (await audit.verify_all(hub.db, [ws]))[0]
        verify_s = time.perf_counter() - t0
        assert verdict.ok and verdict.checked == n, verdict
        return n / append_s, n / verify_s
    finally:
        await hub.close()


async def _settings(db: str | None, tmp: Path) -> tuple[Settings, str | None]:
    if not db:
        return Settings(data_dir=tmp), None
    schema = "bench_" + secrets.token_hex(4)
    engine = create_async_engine(db)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()
    return Settings(data_dir=tmp, database_url=db, database_schema=schema), schema


async def _drop(db: str, schema: str) -> None:
    engine = create_async_engine(db)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    await engine.dispose()


async def main(args: argparse.Namespace) -> None:
    appends, verifies = [], []
    for i in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            settings, schema = await _settings(args.db, Path(tmp))
            try:
                a, v = await _round(settings, args.records)
            finally:
                if schema:
                    await _drop(args.db, schema)
        appends.append(a)
        verifies.append(v)
        print(f"round {i + 1}: append {a:,.0f} records/s, verify {v:,.0f} records/s",
              file=sys.stderr)
    print(f"audit, {args.records:,} records, median of {args.rounds}: "
          f"append {statistics.median(appends):,.0f} records/s, "
          f"verify {statistics.median(verifies):,.0f} records/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db", default=None, help="PostgreSQL URL (default: SQLite)")
    asyncio.run(main(parser.parse_args()))
