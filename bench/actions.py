"""Action benchmark: signed webhook → a run whose ``http.request`` step forwards the body to a
sink on loopback, end to end.

    python bench/actions.py [--rounds 3] [--runs 3000] [--db postgresql+asyncpg://...]

Per round: a sink (aiohttp) on core 1; ``hub serve`` with its in-process worker pinned to
core 0 (``taskset -c 0``) on a fresh database, with ``HUB_EGRESS_ALLOW=127.0.0.1/32`` so the
step may reach the sink; a webhook zap (GitHub signature) whose single step POSTs the
trigger's body to the sink through the hub's checking client. The load generator (this
process, on core 1) sends ``--runs`` signed 1 KB deliveries at c=32 and the clock stops when
the sink has received every forward: runs/s = runs / that time (intake, queue, worker,
checkpoints and the outbound call all on one core). Then, in the same round, a raw aiohttp
client on core 0 does only the forwards (the same number of POSTs of the same body to the same
sink, c=32): the ceiling for the outbound part. Prints both per round and their medians, and
checks that every delivery ran once and was forwarded once.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
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

SECRET = "bench-secret-" + secrets.token_hex(8)
BODY = json.dumps({"ref": "refs/heads/main", "repository": {"full_name": "acme/app"},
                   "pusher": {"name": "ada"}, "pad": "x" * 880}).encode()
SIG = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
CONCURRENCY = 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the sink (its own process) ---------------------------------------------------------------


def sink(port: int) -> None:
    """Answer every POST with a small JSON body and count them; GET /count reads the count."""
    from aiohttp import web

    count = 0

    async def ingest(request: web.Request) -> web.Response:
        nonlocal count
        await request.read()
        count += 1
        return web.json_response({"ok": True, "n": count})

    async def read(request: web.Request) -> web.Response:
        return web.json_response({"count": count})

    app = web.Application()
    app.router.add_post("/ingest", ingest)
    app.router.add_get("/count", read)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


# --- the raw aiohttp client (its own process, on the hub's core) -------------------------------


async def _raw(url: str, total: int) -> float:
    import aiohttp

    left = total

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            async with session.post(url, data=BODY,
                                    headers={"Content-Type": "application/json"}) as answer:
                await answer.read()
                assert answer.status == 200

    connector = aiohttp.TCPConnector(limit=100)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
        return total / (time.perf_counter() - started)


# --- the hub ------------------------------------------------------------------------------------


async def _setup(env: dict[str, str], sink_url: str) -> str:
    """Create the workspace, the secret connection and the zap; return the hook id."""
    from hub.context import Hub
    from hub.intake.hooks import hook_of
    from hub.services import connections, identity, zaps
    from hub.settings import Settings
    from hub.testing.people import owner_token

    hub = await Hub.open(Settings(data_dir=Path(env["HUB_DATA_DIR"]),
                                  database_url=env.get("HUB_DATABASE_URL"),
                                  database_schema=env.get("HUB_DATABASE_SCHEMA")))
    try:
        token = await owner_token(hub)
        ws = (await identity.authenticate(hub, token)).workspace_id
        await connections.create_connection(hub, workspace_id=ws, connector="webhook_secret",
                                            name="gh", values={"secret": SECRET})
        zap = await zaps.create_zap(hub, workspace_id=ws, document={
            "name": "forward", "trigger": {"kind": "webhook", "config": {
                "app": "github", "connection": "gh"}},
            "steps": [{"id": "forward", "use": "http.request", "input": {
                "method": "POST", "url": sink_url, "body": "{{ trigger.body }}"}}]})
        async with hub.db.read() as conn:
            hook = await hook_of(conn, zap["id"])
        assert hook
        return hook
    finally:
        await hub.close()


def _wait_http(url: str, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{what} did not start")


def _spawn(core: int, args: list[str], env: dict[str, str] | None = None
           ) -> subprocess.Popen[bytes]:
    return subprocess.Popen(["taskset", "-c", str(core), sys.executable, *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


async def _load(hook_url: str, count_url: str, total: int, tag: str) -> float:
    """Send ``total`` signed deliveries at c=32; seconds until the sink has every forward."""
    import aiohttp

    before = (await asyncio.to_thread(httpx.get, count_url)).json()["count"]
    sent = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal sent
        while sent < total:
            sent += 1
            headers = {"Content-Type": "application/json", "X-GitHub-Event": "push",
                       "X-GitHub-Delivery": f"{tag}-{sent}", "X-Hub-Signature-256": SIG}
            async with session.post(hook_url, data=BODY, headers=headers) as answer:
                await answer.read()
                assert answer.status == 202, answer.status

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
        async with httpx.AsyncClient() as client:
            while (await client.get(count_url)).json()["count"] - before < total:
                await asyncio.sleep(0.01)
        return time.perf_counter() - started


async def _verify(env: dict[str, str], total: int) -> str:
    url = env.get("HUB_DATABASE_URL") or f"sqlite+aiosqlite:///{env['HUB_DATA_DIR']}/hub.db"
    args: dict[str, Any] = {}
    if env.get("HUB_DATABASE_SCHEMA"):
        args["server_settings"] = {"search_path": env["HUB_DATABASE_SCHEMA"]}
    engine = create_async_engine(url, connect_args=args)
    try:
        async with engine.connect() as conn:
            rows = dict((await conn.execute(sa.text(
                "SELECT status, count(*) FROM runs GROUP BY status"))).all())
    finally:
        await engine.dispose()
    good = rows == {"succeeded": total}
    return f"{'OK' if good else 'MISMATCH'}: runs by status {rows}"


async def _schema(db: str, schema: str, drop: bool) -> None:
    engine = create_async_engine(db)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if not drop:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()


def one_round(n: int, args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    port, sink_port = _free_port(), _free_port()
    sink_url = f"http://127.0.0.1:{sink_port}/ingest"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(data), HUB_PORT=str(port), HUB_LOG_LEVEL="WARNING",
               HUB_EGRESS_ALLOW="127.0.0.1/32", HUB_POLL_INTERVAL="0.05")
    schema = f"bench_{secrets.token_hex(4)}"
    if args.db:
        asyncio.run(_schema(args.db, schema, drop=False))
        env.update(HUB_DATABASE_URL=args.db, HUB_DATABASE_SCHEMA=schema)
    hook = asyncio.run(_setup(env, sink_url))
    sink_proc = _spawn(1, [__file__, "--sink", str(sink_port)])
    hub_proc = _spawn(0, ["-m", "hub", "serve"], env)
    try:
        _wait_http(f"http://127.0.0.1:{sink_port}/count", sink_proc, "the sink")
        _wait_http(f"http://127.0.0.1:{port}/healthz", hub_proc, "hub serve")
        hook_url = f"http://127.0.0.1:{port}/hooks/{hook}"
        count_url = f"http://127.0.0.1:{sink_port}/count"
        asyncio.run(_load(hook_url, count_url, 200, f"w{n}"))  # warm-up
        seconds = asyncio.run(_load(hook_url, count_url, args.runs, f"r{n}"))
    finally:
        hub_proc.terminate()
        hub_proc.wait(timeout=30)
    try:
        raw = subprocess.run(["taskset", "-c", "0", sys.executable, __file__, "--raw", sink_url,
                              str(args.runs)], capture_output=True, text=True, check=True)
    finally:
        sink_proc.terminate()
        sink_proc.wait(timeout=30)
    check = asyncio.run(_verify(env, args.runs + 200))
    if args.db:
        asyncio.run(_schema(args.db, schema, drop=True))
    shutil.rmtree(data, ignore_errors=True)
    return {"runs_s": args.runs / seconds, "raw_s": float(raw.stdout.strip()), "check": check}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--db", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--sink", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--raw", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sink:
        return sink(args.sink)
    if args.raw:
        print(f"{asyncio.run(_raw(args.raw[0], int(args.raw[1]))):.1f}")
        return None
    os.sched_setaffinity(0, {1})  # the load generator shares core 1 with the sink
    rounds = []
    for n in range(args.rounds):
        r = one_round(n, args)
        rounds.append(r)
        print(f"round {n + 1}: webhook → http.request {r['runs_s']:.0f} runs/s | raw aiohttp "
              f"forwards only {r['raw_s']:.0f} req/s | {r['check']}", flush=True)
    med = statistics.median
    print(f"median: {med(r['runs_s'] for r in rounds):.0f} runs/s end to end (hub on one "
          f"core), raw aiohttp client {med(r['raw_s'] for r in rounds):.0f} req/s; "
          + ("every delivery ran and was forwarded once" if all(
              r["check"].startswith("OK") for r in rounds) else "CHECK FAILED"))
    return None


if __name__ == "__main__":
    main()
