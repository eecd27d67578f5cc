"""Scale-out benchmark: 1, 2 and 4 ``hub worker`` processes (plus one intake process) on one
PostgreSQL.

    python bench/scale.py [--db postgresql+asyncpg://postgres@127.0.0.1:5432/scale]
        [--workers 1,2,4] [--backlog 3000] [--seconds 10] [--clients 32]

For each worker count, on a fresh schema:

* **queue → 3-step zaps**: ``--backlog`` runs of a 3-step zap are queued at once, then the
  workers drain them. Prints runs/s (runs / (last end - first queued)) and p50/p99 of each run's
  time from claim to end (the queue wait of a drained backlog says nothing, so it is not shown).
* **webhook → 3-step zaps**: ``--clients`` concurrent HTTP clients POST to the intake process
  (``hub serve --no-worker``) for ``--seconds``; every 202 is a run. Prints the runs/s the
  workers sustained and the end-to-end latency p50/p99, delivery accepted → run finished.

For each phase it also prints the CPU the database used: the backends serving this database
(``pg_stat_activity``, CPU time from ``/proc/<pid>/stat``) in cores, and as a share of the CPU
of the database and the hub processes together. The load generator runs in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

TICKS = os.sysconf("SC_CLK_TCK")
STEPS = [{"id": f"s{i}", "use": "core.transform", "input": {"n": i, "v": "{{ trigger }}"}}
         for i in range(3)]


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


class CpuMeter:
    """CPU seconds of the database backends of one database and of the hub processes.

    Backends are sampled every 0.2 s while measuring, so the CPU of a connection the pool
    opened and closed meanwhile is counted up to its last sample.
    """

    def __init__(self, url: str, hub_pids: list[int]) -> None:
        self.url, self.hub_pids = url, hub_pids
        self.engine = create_async_engine(url, pool_size=1)
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}
        self.commits = 0

    async def _sample(self, *, initial: bool = False) -> None:
        async with self.engine.connect() as conn:
            self.commits = int((await conn.execute(sa.text(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            ))).scalar() or 0)
            pids = (await conn.execute(sa.text(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"))).scalars()
        for pid in pids:
            used = cpu_seconds(pid)
            if used:
                self.last[pid] = used
                if initial:
                    self.first[pid] = used

    async def _sampling(self) -> None:
        while True:
            await asyncio.sleep(0.2)
            await self._sample()

    async def start(self) -> None:
        self.first, self.last = {}, {}
        await self._sample(initial=True)
        self.commits_start = self.commits
        self.hub_start = sum(cpu_seconds(p) for p in self.hub_pids)
        self.began = time.monotonic()
        self.task = asyncio.create_task(self._sampling())

    async def stop(self) -> tuple[float, float, float, int]:
        """The database's cores, its share of database + hub CPU, the hub's CPU seconds and
        the transactions committed (PostgreSQL publishes them within a second: waited for)."""
        elapsed = time.monotonic() - self.began
        hub = sum(cpu_seconds(p) for p in self.hub_pids) - self.hub_start
        await asyncio.sleep(1.5)
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self._sample()
        db = sum(used - self.first.get(pid, 0.0) for pid, used in self.last.items())
        return db / elapsed, db / max(db + hub, 1e-9), hub, self.commits - self.commits_start

    async def close(self) -> None:
        await self.engine.dispose()


def env_for(url: str, schema: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update({"HUB_DATABASE_URL": url, "HUB_DATABASE_SCHEMA": schema,
                "HUB_DATA_DIR": str(data_dir), "HUB_RUN_SCHEDULER": "false",
                "HUB_LOG_LEVEL": "INFO"})
    env.update({f"HUB_{k.upper()}": v for k, v in extra.items()})
    return env


async def setup(url: str, schema: str, data_dir: Path) -> dict[str, str]:
    """Create the schema, the workspace and both zaps; their ids and the hook id."""
    from hub.context import Hub
    from hub.intake.hooks import hook_of
    from hub.services import identity, zaps
    from hub.settings import Settings

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()
    hub = await Hub.open(Settings(data_dir=data_dir, database_url=url, database_schema=schema))
    try:
        ws = (await identity.create_workspace(hub, name="bench",
                                              owner_email="bench@example.test"))["workspace_id"]
        queued = await zaps.create_zap(hub, workspace_id=ws, document={
            "name": "queued", "trigger": {"kind": "manual"}, "steps": STEPS})
        hooked = await zaps.create_zap(hub, workspace_id=ws, document={
            "name": "hooked", "trigger": {"kind": "webhook"}, "steps": STEPS})
        async with hub.db.read() as conn:
            hook = await hook_of(conn, hooked["id"])
        return {"ws": ws, "queued": queued["id"], "hooked": hooked["id"], "hook": hook or ""}
    finally:
        await hub.close()


async def enqueue(url: str, schema: str, data_dir: Path, ids: dict[str, str], n: int) -> None:
    from hub.context import Hub
    from hub.ids import new_id
    from hub.settings import Settings
    from hub.store.tables import runs

    hub = await Hub.open(Settings(data_dir=data_dir, database_url=url, database_schema=schema),
                         migrate=False)
    try:
        await hub.listen()  # so the wake-up below reaches the idle workers at once
        await hub.payloads.prepare(ids["ws"])
        now = time.time()
        rows = [{"id": new_id("run"), "workspace_id": ids["ws"], "zap_id": ids["queued"],
                 "zap_version": 1, "status": "queued", "source": "manual",
                 "trigger_data": hub.payloads.encode(ids["ws"], {"i": i}), "created_at": now,
                 "due_at": now} for i in range(n)]
        async with hub.db.write() as conn:
            for start in range(0, n, 1000):
                await conn.execute(runs.insert(), rows[start:start + 1000])
        hub.wake()
        await asyncio.sleep(0.2)  # the wake-up is sent before the hub closes
    finally:
        await hub.close()


async def finished(url: str, schema: str, zap_id: str, expected: int,
                   timeout: float = 300) -> list[Any]:
    """Wait until ``expected`` runs of the zap ended; their rows."""
    engine = create_async_engine(url, connect_args={"server_settings": {"search_path": schema}})
    query = sa.text("SELECT status, created_at, started_at, finished_at, "
                    "CAST(error AS text) AS error FROM runs "
                    "WHERE zap_id = :z AND finished_at IS NOT NULL")
    deadline = time.monotonic() + timeout
    try:
        while True:
            async with engine.connect() as conn:
                rows = (await conn.execute(query, {"z": zap_id})).all()
            if len(rows) >= expected or time.monotonic() > deadline:
                return rows
            await asyncio.sleep(0.25)
    finally:
        await engine.dispose()


def figures(rows: list[Any], since: str) -> tuple[float, float, float, float, int]:
    """runs/s, p50 and p99 (ms) of finished_at - ``since``, p50 of the wait from queued to
    claimed (ms), and failures."""
    if not rows:
        return 0.0, 0.0, 0.0, 0.0, 0
    first = min(r.created_at for r in rows)
    last = max(r.finished_at for r in rows)
    lat = sorted((r.finished_at - getattr(r, since)) * 1000 for r in rows)
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))]
    failed = sum(1 for r in rows if r.status != "succeeded")
    for error in sorted({r.error for r in rows if r.status != "succeeded"})[:3]:
        print(f"  a run ended {'/'.join(sorted({r.status for r in rows}))}: {error}")  # noqa: T201
    wait = statistics.median((r.started_at - r.created_at) * 1000 for r in rows)
    return len(rows) / max(last - first, 1e-9), statistics.median(lat), p99, wait, failed


async def load(base: str, hook: str, clients: int, seconds: float) -> int:
    """Closed-loop POSTs from ``clients`` clients; the number of 202 answers."""
    accepted = 0
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        async def one() -> None:
            nonlocal accepted
            while time.monotonic() < stop:
                answer = await client.post(f"/hooks/{hook}", json={"order": 1, "pad": "x" * 200})
                accepted += answer.status_code == 202

        await asyncio.gather(*(one() for _ in range(clients)))
    return accepted


def start_nodes(env: dict[str, str], workers: int, port: int,
                logs: Path) -> list[subprocess.Popen[bytes]]:
    procs = [subprocess.Popen([sys.executable, "-m", "hub", "serve", "--no-worker",
                               "--port", str(port)], env=env,
                              stdout=(logs / "intake.log").open("wb"), stderr=subprocess.STDOUT)]
    for i in range(workers):
        procs.append(subprocess.Popen([sys.executable, "-m", "hub", "worker"], env=env,
                                      stdout=(logs / f"worker{i}.log").open("wb"),
                                      stderr=subprocess.STDOUT))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = all("worker " in (logs / f"worker{i}.log").read_text() for i in range(workers))
        try:
            up = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            up = False
        if ready and up:
            return procs
        time.sleep(0.2)
    stop_nodes(procs)
    raise SystemExit(f"the nodes did not start; logs in {logs}")


def stop_nodes(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


async def one_config(args: argparse.Namespace, workers: int) -> dict[str, Any]:
    schema = "bench_scale_" + secrets.token_hex(4)
    data_dir = Path(tempfile.mkdtemp(prefix="hub-scale-"))
    ids = await setup(args.db, schema, data_dir)
    port = _free_port()
    procs = start_nodes(env_for(args.db, schema, data_dir), workers, port, data_dir)
    meter = CpuMeter(args.db, [p.pid for p in procs])
    try:
        await meter.start()
        await enqueue(args.db, schema, data_dir, ids, args.backlog)
        rows = await finished(args.db, schema, ids["queued"], args.backlog)
        queue = (*figures(rows, "started_at"), *await meter.stop(), len(rows))
        await meter.start()
        accepted = await load(f"http://127.0.0.1:{port}", ids["hook"], args.clients,
                              args.seconds)
        rows = await finished(args.db, schema, ids["hooked"], accepted)
        hook = (*figures(rows, "created_at"), *await meter.stop(), len(rows))
    finally:
        await meter.close()
        stop_nodes(procs)
        await _drop(args.db, schema)
        shutil.rmtree(data_dir, ignore_errors=True)
    return {"workers": workers, "queue": queue, "hook": hook, "accepted": accepted}


async def _drop(url: str, schema: str) -> None:
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    await engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", default=os.environ.get(
        "HUB_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/scale"))
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--backlog", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=32)
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores; backlog {args.backlog} runs; webhook load "  # noqa: T201
          f"{args.clients} clients x {args.seconds:g} s; 3 steps per run")
    head = (f"{'workers':>7} | {'phase':<18} | {'runs/s':>7} | {'p50 ms':>7} | {'p99 ms':>8} | "
            f"{'wait p50':>8} | "
            f"{'failed':>6} | {'DB cores':>8} | {'DB share':>8} | {'hub CPU/run':>11} | "
            f"{'commits/run':>11}")
    print(head)  # noqa: T201
    print("-" * len(head))  # noqa: T201
    for workers in (int(w) for w in args.workers.split(",")):
        got = asyncio.run(one_config(args, workers))
        for phase, label in (("queue", "queue (claim→end)"), ("hook", "webhook (e2e)")):
            rate, p50, p99, wait, failed, cores, share, hub_cpu, commits, n = got[phase]
            print(f"{workers:>7} | {label:<18} | {rate:>7.0f} | {p50:>7.1f} | {p99:>8.1f} | "  # noqa: T201
                  f"{wait:>8.1f} | {failed:>6} | {cores:>8.2f} | {share:>8.0%} | "
                  f"{hub_cpu / max(n, 1) * 1000:>8.2f} ms | {commits / max(n, 1):>11.2f}",
                  flush=True)


if __name__ == "__main__":
    main()
