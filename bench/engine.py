"""Engine throughput benchmark: a 3-step zap run N times through the real worker.

    taskset -c 0 python bench/engine.py [--runs 5000] [--rounds 3] [--db postgresql+asyncpg://...]
        [--plain] [--synchronous full|normal] [--no-audit | --compare]

Run payloads (trigger data, step inputs and outputs) are encrypted at rest as in a default
workspace; ``--plain`` turns payload encryption off for the workspace to measure its cost.
``--synchronous`` sets ``HUB_SQLITE_SYNCHRONOUS`` (SQLite only; default ``full``).
``--no-audit`` turns off the engine's audit records (``HUB_AUDIT_RUNS``; on by default: run
start and finish and each step's side effect, batched into the checkpoint transactions), to
measure their cost.

Each round uses a fresh database (a temporary SQLite file, or a fresh schema on PostgreSQL).
All runs are enqueued first (timed separately), then one in-process worker executes them with
durable step checkpoints. Reports completed runs/s, the worker process's CPU time and SQL
statements per run (steadier than wall time on a shared machine) and per-run latency
percentiles from the runs table; prints the median of the rounds.
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
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hub import hookimpl
from hub.context import Hub
from hub.engine.worker import Worker
from hub.ids import new_id
from hub.services import identity, zaps
from hub.services import runs as runs_svc
from hub.settings import Settings
from hub.store.tables import runs
from hub.testing.people import owner_token
from hub.vault.payloads import set_encryption

ZAP = {
    "name": "bench",
    "trigger": {"kind": "manual"},
    "steps": [
        {"id": "shape", "use": "core.transform",
         "input": {"amount": "{{ trigger.amount }}", "who": "{{ trigger.user.name }}"}},
        {"id": "big", "use": "core.filter",
         "input": {"condition": "{{ steps.shape.amount > `10` }}"}},
        {"id": "out", "use": "core.transform",
         "input": {"text": "{{ steps.shape.who }} paid {{ steps.shape.amount }}"}},
    ],
}


class Finished:
    """A ``track_event`` observer that signals when ``target`` runs have finished."""

    def __init__(self, target: int) -> None:
        self.target, self.count, self.done = target, 0, asyncio.Event()

    @hookimpl
    def track_event(self, hub: Hub, event: dict[str, Any]) -> None:
        if event["type"] == "run.finished":
            self.count += 1
            if self.count >= self.target:
                self.done.set()


async def enqueue(hub: Hub, ws: str, zap: dict[str, Any], n: int, api: bool) -> float:
    """Queue ``n`` runs; return the time it took."""
    t0 = time.perf_counter()
    await hub.payloads.prepare(ws)
    if api:
        for i in range(n):
            await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"],
                                     data={"amount": 20 + i % 3, "user": {"name": "ada"}})
        return time.perf_counter() - t0
    for lo in range(0, n, 1000):
        now = time.time()
        rows = [{"id": new_id("run"), "workspace_id": ws, "zap_id": zap["id"],
                 "zap_version": zap["version"], "status": "queued", "source": "bench",
                 "trigger_data": hub.payloads.encode(
                     ws, {"amount": 20 + i % 3, "user": {"name": "ada"}}),
                 "created_at": now, "due_at": now} for i in range(lo, min(lo + 1000, n))]
        async with hub.db.write() as conn:
            await conn.execute(runs.insert(), rows)
    return time.perf_counter() - t0


def count_statements(hub: Hub) -> list[int]:
    """A live count of the SQL statements the hub sends (writer and readers)."""
    count = [0]

    def seen(*_args: Any) -> None:
        count[0] += 1

    for engine in {hub.db.writer, hub.db.reader}:
        sa.event.listen(engine.sync_engine, "before_cursor_execute", seen)
    return count


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def one_round(settings: Settings, args: argparse.Namespace) -> dict[str, float]:
    observer = Finished(args.runs)
    hub = await Hub.open(settings)
    hub.pm.register(observer, name="bench-observer")
    try:
        ws = (await identity.authenticate(hub, await owner_token(hub))).workspace_id
        await set_encryption(hub, workspace_id=ws, enabled=not args.plain)
        zap = await zaps.create_zap(hub, workspace_id=ws, document=ZAP)
        enq = await enqueue(hub, ws, zap, args.runs, args.enqueue == "api")
        worker = hub.worker = Worker(hub, concurrency=args.concurrency)
        statements = count_statements(hub)
        t0, cpu0 = time.perf_counter(), time.process_time()
        worker.start()
        await asyncio.wait_for(observer.done.wait(), timeout=600)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        async with hub.db.read() as conn:
            rows = (await conn.execute(sa.select(
                runs.c.status, runs.c.created_at, runs.c.started_at, runs.c.finished_at,
                runs.c.error))).all()
    finally:
        await hub.close()
    bad = [r for r in rows if r.status != "succeeded"]
    if bad:  # e.g. expression time budgets on an overloaded machine: shown, not hidden
        codes = sorted({(r.error or {}).get("code", r.status) for r in bad})
        print(f"  {len(bad)} runs did not succeed: {', '.join(codes)}", flush=True)
    run_lat = [r.finished_at - r.started_at for r in rows]
    e2e = [r.finished_at - r.created_at for r in rows]
    return {"enqueue/s": args.runs / enq, "runs/s": args.runs / elapsed,
            "steps/s": 3 * args.runs / elapsed, "cpu ms/run": cpu * 1e3 / args.runs,
            "SQL statements/run": statements[0] / args.runs,
            "run p50 ms": pct(run_lat, .5) * 1e3, "run p99 ms": pct(run_lat, .99) * 1e3,
            "created->finished p50 ms": pct(e2e, .5) * 1e3,
            "created->finished p99 ms": pct(e2e, .99) * 1e3}


async def pg_schema(url: str, schema: str, create: bool) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if create:
                await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        await engine.dispose()


async def run_round(args: argparse.Namespace) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        if not args.db:
            return await one_round(Settings(data_dir=Path(tmp), audit_runs=not args.no_audit,
                                            sqlite_synchronous=args.synchronous), args)
        schema = "bench_" + secrets.token_hex(4)
        await pg_schema(args.db, schema, create=True)
        try:
            return await one_round(Settings(data_dir=Path(tmp), database_url=args.db,
                                            database_schema=schema,
                                            audit_runs=not args.no_audit), args)
        finally:
            await pg_schema(args.db, schema, create=False)


def num(value: float) -> str:
    return f"{value:,.2f}" if value < 100 else f"{value:,.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--db", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--enqueue", choices=("batch", "api"), default="batch",
                        help="insert runs in batches of 1000, or one start_run call each")
    parser.add_argument("--uvloop", action="store_true", help="run on uvloop")
    parser.add_argument("--plain", action="store_true",
                        help="turn payload encryption at rest off for the workspace")
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full",
                        help="SQLite synchronous mode of the writer (HUB_SQLITE_SYNCHRONOUS)")
    parser.add_argument("--no-audit", action="store_true",
                        help="no audit records from the engine (HUB_AUDIT_RUNS=false)")
    parser.add_argument("--compare", action="store_true",
                        help="alternate rounds with audit off and on; print both and the ratio")
    args = parser.parse_args()
    backend = "postgresql" if args.db else "sqlite"
    if not args.db:
        backend += f" synchronous={args.synchronous}"
    print(f"engine bench: {args.runs} runs x 3 steps, {backend}, concurrency "
          f"{args.concurrency}, enqueue {args.enqueue}, payloads "
          f"{'plain' if args.plain else 'encrypted'}, audit "
          f"{'compared' if args.compare else 'off' if args.no_audit else 'on'}, "
          f"python {sys.version.split()[0]}")
    modes = [True, False] if args.compare else [args.no_audit]
    results: dict[bool, list[dict[str, float]]] = {m: [] for m in modes}
    for i in range(args.rounds):
        for mode in modes:  # interleaved, so a busy machine slows both alike
            args.no_audit = mode
            res = _round(args)
            results[mode].append(res)
            print(f"round {i + 1} audit {'off' if mode else 'on'}: "
                  + ", ".join(f"{k} {num(v)}" for k, v in res.items()), flush=True)
    medians = {m: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
               for m, rs in results.items()}
    for mode, med in medians.items():
        print(f"median audit {'off' if mode else 'on'}: "
              + ", ".join(f"{k} {num(v)}" for k, v in med.items()))
    if args.compare:
        off, on = medians[True], medians[False]
        print(f"audit on vs off: runs/s {on['runs/s'] / off['runs/s'] - 1:+.1%}, cpu ms/run "
              f"{on['cpu ms/run'] / off['cpu ms/run'] - 1:+.1%}")


def _round(args: argparse.Namespace) -> dict[str, float]:
    if args.uvloop:
        import uvloop
        return uvloop.run(run_round(args))
    return asyncio.run(run_round(args))

if __name__ == "__main__":
    main()
