"""Webhook intake benchmark: signed 1 KB JSON POSTs to a GitHub-style webhook zap.

    python bench/intake.py [--rounds 3] [--db postgresql+asyncpg://...] [--worker]
        [--synchronous full|normal]

Starts ``hub serve`` pinned to core 0 (``taskset -c 0``) on a fresh database, creates a webhook
zap verified with the ``github`` scheme, then loads it from core 1 with ``wrk`` (Debian package
``wrk``; a Lua script sends a valid ``X-Hub-Signature-256`` and a unique
``X-GitHub-Delivery`` per request): c=32 for 15 s, then c=1 for 10 s, per round. Prints
accepted (2xx) req/s and p50/p99 latency per phase (median of the rounds), the server's peak RSS,
and then checks that every 2xx delivery is stored exactly once (events = runs = 2xx count, no
duplicate delivery id). By default the server runs with ``--no-worker`` so the figure is the
intake alone; ``--worker`` also executes the runs on the same core. ``--synchronous`` sets
``HUB_SQLITE_SYNCHRONOUS`` for the server (SQLite only; default ``full``).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import re
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
LUA = """
counter = 0
created = 0
dup = 0
tid = 0
threads = {}
function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end
function init(args)
  wrk.method = "POST"
  wrk.body = [==[%(body)s]==]
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-GitHub-Event"] = "push"
  wrk.headers["X-Hub-Signature-256"] = "%(sig)s"
end
function request()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = "%(run)s-" .. tid .. "-" .. counter
  return wrk.format()
end
function response(status, headers, body)
  if status == 202 then created = created + 1 elseif status == 200 then dup = dup + 1 end
end
function done(summary, latency, requests)
  local total, dups = 0, 0
  for _, t in ipairs(threads) do
    total = total + t:get("created")
    dups = dups + t:get("dup")
  end
  io.write(string.format("OK2XX %%d\\nDUP200 %%d\\n", total, dups))
  io.write(string.format("P50US %%d\\nP99US %%d\\n", latency:percentile(50),
                         latency:percentile(99)))
end
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _setup(env: dict[str, str]) -> str:
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
            "name": "bench", "trigger": {"kind": "webhook", "config": {
                "signature": "github", "connection": "gh"}},
            "steps": [{"id": "t", "use": "core.transform",
                       "input": {"ref": "{{ trigger.body.ref }}"}}]})
        async with hub.db.read() as conn:
            hook = await hook_of(conn, zap["id"])
        assert hook
        return hook
    finally:
        await hub.close()


def _start(env: dict[str, str], worker: bool) -> subprocess.Popen[bytes]:
    args = ["taskset", "-c", "0", sys.executable, "-m", "hub", "serve"]
    if not worker:
        args.append("--no-worker")
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{env['HUB_PORT']}/healthz"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("hub serve did not start")


def _wrk(url: str, script: Path, conns: int, seconds: int) -> dict[str, float]:
    threads = 2 if conns > 1 else 1
    done = subprocess.run(["taskset", "-c", "1", "wrk", f"-t{threads}", f"-c{conns}",
                           f"-d{seconds}s", "--latency", "-s", str(script), url],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"wrk failed: {done.stdout}{done.stderr}")
    out = done.stdout
    ok = int(re.search(r"OK2XX (\d+)", out).group(1))  # type: ignore[union-attr]
    p50 = int(re.search(r"P50US (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    p99 = int(re.search(r"P99US (\d+)", out).group(1)) / 1000  # type: ignore[union-attr]
    dup = int(re.search(r"DUP200 (\d+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"ok": ok, "rps": ok / seconds, "p50": p50, "p99": p99, "dup": dup,
            "non2xx": int(errors.group(1)) if errors else 0}


def _peak_rss_mb(pid: int) -> float:
    for child in [pid, *_children(pid)]:
        status = Path(f"/proc/{child}/status").read_text()
        if "python" in Path(f"/proc/{child}/cmdline").read_text():
            return int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]
    return float("nan")


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


async def _verify(env: dict[str, str], acked: int, dups: int) -> str:
    """Every 2xx delivery stored once with its run. wrk stops without reading the answers of
    requests in flight at the end of a phase, so a few more events than 2xx are expected."""
    url = env.get("HUB_DATABASE_URL") or f"sqlite+aiosqlite:///{env['HUB_DATA_DIR']}/hub.db"
    args: dict[str, Any] = {}
    if env.get("HUB_DATABASE_SCHEMA"):
        args["server_settings"] = {"search_path": env["HUB_DATABASE_SCHEMA"]}
    engine = create_async_engine(url, connect_args=args)
    try:
        async with engine.connect() as conn:
            events = (await conn.execute(sa.text("SELECT count(*) FROM trigger_events"))).scalar()
            keys = (await conn.execute(sa.text(
                "SELECT count(DISTINCT dedupe_key) FROM trigger_events"))).scalar()
            n_runs = (await conn.execute(sa.text("SELECT count(*) FROM runs"))).scalar()
            joined = (await conn.execute(sa.text(
                "SELECT count(*) FROM trigger_events e JOIN runs r ON r.id = e.run_id"))).scalar()
    finally:
        await engine.dispose()
    good = events == keys == n_runs == joined and 0 <= events - acked <= 65 and dups == 0
    return (f"{'OK' if good else 'MISMATCH'}: 2xx={acked} (duplicates {dups}) events={events} "
            f"distinct deliveries={keys} runs={n_runs} events with their run={joined} "
            f"(in flight at the phase ends: {events - acked})")


async def _fresh_schema(db: str, schema: str, drop: bool) -> None:
    engine = create_async_engine(db)
    async with engine.begin() as conn:
        await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        if not drop:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    await engine.dispose()


def one_round(n: int, args: argparse.Namespace) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env.update(HUB_DATA_DIR=str(data), HUB_PORT=str(port), HUB_LOG_LEVEL="WARNING",
               HUB_SQLITE_SYNCHRONOUS=args.synchronous)
    schema = f"bench_{secrets.token_hex(4)}"
    if args.db:
        asyncio.run(_fresh_schema(args.db, schema, drop=False))
        env.update(HUB_DATABASE_URL=args.db, HUB_DATABASE_SCHEMA=schema)
    hook = asyncio.run(_setup(env))
    sig = "sha256=" + hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()
    scripts = {}
    for phase in ("warm", "c32", "c1"):  # distinct delivery ids per phase
        scripts[phase] = data / f"{phase}.lua"
        scripts[phase].write_text(LUA % {"body": BODY.decode(), "sig": sig,
                                         "run": f"r{n}{phase}"})
    proc = _start(env, args.worker)
    try:
        url = f"http://127.0.0.1:{port}/hooks/{hook}"
        warm = _wrk(url, scripts["warm"], 32, 2)
        c32 = _wrk(url, scripts["c32"], 32, args.seconds)
        c1 = _wrk(url, scripts["c1"], 1, args.seconds_c1)
        rss = _peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    check = asyncio.run(_verify(env, int(warm["ok"] + c32["ok"] + c1["ok"]),
                                int(warm["dup"] + c32["dup"] + c1["dup"])))
    if args.db:
        asyncio.run(_fresh_schema(args.db, schema, drop=True))
    shutil.rmtree(data, ignore_errors=True)
    return {"c32": c32, "c1": c1, "rss": rss, "check": check}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15, help="c=32 phase length")
    parser.add_argument("--seconds-c1", type=int, default=10, help="c=1 phase length")
    parser.add_argument("--db", help="PostgreSQL URL (default: a temporary SQLite file)")
    parser.add_argument("--worker", action="store_true", help="also execute runs in-process")
    parser.add_argument("--synchronous", choices=("full", "normal"), default="full",
                        help="SQLite synchronous mode of the writers (HUB_SQLITE_SYNCHRONOUS)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("bench/intake.py needs wrk: apt-get install -y wrk")
    print(f"intake bench: {'postgresql' if args.db else 'sqlite'}"
          f"{'' if args.db else ' synchronous=' + args.synchronous}, "
          f"{'with' if args.worker else 'no'} worker", flush=True)
    rounds = []
    for n in range(args.rounds):
        r = one_round(n, args)
        rounds.append(r)
        print(f"round {n + 1}: c=32 {r['c32']['rps']:.0f} req/s p50 {r['c32']['p50']:.2f} ms "
              f"p99 {r['c32']['p99']:.2f} ms | c=1 {r['c1']['rps']:.0f} req/s "
              f"p50 {r['c1']['p50']:.2f} ms p99 {r['c1']['p99']:.2f} ms | "
              f"peak RSS {r['rss']:.0f} MB | {r['check']}", flush=True)
    med = statistics.median
    for phase in ("c32", "c1"):
        print(f"median {phase.replace('c', 'c=')}: "
              f"{med(r[phase]['rps'] for r in rounds):.0f} accepted req/s, "
              f"p50 {med(r[phase]['p50'] for r in rounds):.2f} ms, "
              f"p99 {med(r[phase]['p99'] for r in rounds):.2f} ms, "
              f"non-2xx {sum(r[phase]['non2xx'] for r in rounds)}")
    print(f"peak RSS (max of rounds): {max(r['rss'] for r in rounds):.0f} MB")
    print("durability check: " + ("every 2xx delivery stored exactly once" if all(
        r["check"].startswith("OK") for r in rounds) else "FAILED"))


if __name__ == "__main__":
    main()
