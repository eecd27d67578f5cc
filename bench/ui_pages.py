"""Web app page times with many runs: the server time of each main page, in process.

    python bench/ui_pages.py [--runs 10000] [--repeat 30] [--db postgresql+asyncpg://...]

Seeds a fresh database (a temporary SQLite file, or a fresh schema on PostgreSQL) with one
zap and ``--runs`` finished runs (a mix of statuses, each with two step rows), then requests
each page ``--repeat`` times through the app (ASGI, no network) as the owner and prints the
median and 95th percentile in milliseconds. The target is under 100 ms per page.
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

import httpx
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from hub.ids import new_id
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import run_steps, runs
from hub.testing.people import owner_token
from hub.web.app import create_app

STATUSES = ("succeeded",) * 7 + ("failed", "waiting", "cancelled")
ZAP = {"name": "bench", "trigger": {"kind": "manual"},
       "steps": [{"id": "a", "use": "core.transform", "input": {"v": "{{ trigger.n }}"}},
                 {"id": "b", "use": "core.transform", "input": {"w": "{{ steps.a.v }}"}}]}


async def seed(hub, ws: str, zap: dict, n: int) -> str:  # type: ignore[no-untyped-def]
    await hub.payloads.prepare(ws)
    last = ""
    for lo in range(0, n, 1000):
        now = time.time()
        batch, steps = [], []
        for i in range(lo, min(lo + 1000, n)):
            rid = last = new_id("run")
            status = STATUSES[i % len(STATUSES)]
            batch.append({"id": rid, "workspace_id": ws, "zap_id": zap["id"],
                          "zap_version": 1, "status": status, "source": "bench",
                          "trigger_data": hub.payloads.encode(ws, {"n": i}),
                          "created_at": now, "due_at": now, "finished_at": now,
                          "error": {"code": "boom", "message": "x"} if status == "failed"
                          else None})
            for seq, sid in enumerate(("a", "b")):
                steps.append({"run_id": rid, "seq": seq, "workspace_id": ws, "step_id": sid,
                              "step_index": seq, "round": 0, "attempt": 1,
                              "status": "succeeded", "input": hub.payloads.encode(ws, {"v": i}),
                              "output": hub.payloads.encode(ws, {"v": i}), "error": None,
                              "started_at": now, "finished_at": now,
                              "idempotency_key": f"{rid}:{sid}"})
        async with hub.db.write() as conn:
            await conn.execute(runs.insert(), batch)
            await conn.execute(run_steps.insert(), steps)
    return last


async def measure(settings: Settings, n: int, repeat: int) -> None:
    app = create_app(settings, on_setup_token=lambda _t, _s: None)
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        token = await owner_token(hub)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub.test",
                                     headers={"Authorization": f"Bearer {token}"}) as client:
            ws = (await client.get("/api/v1/auth/me")).json()["workspace_id"]
            zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=ZAP)
            run_id = await seed(hub, ws, zap, n)
            pages = ["/", "/runs", "/runs?status=failed", "/runs?period=24h",
                     f"/runs?zap={zap['id']}", f"/runs/{run_id}", "/zaps",
                     f"/zaps/{zap['id']}", "/inbox", "/connections", "/admin/usage"]
            print(f"{n} runs; {repeat} requests per page; server time in ms (median, p95)")
            for path in pages:
                times = []
                for _ in range(repeat):
                    t0 = time.perf_counter()
                    res = await client.get(path)
                    times.append((time.perf_counter() - t0) * 1000)
                    assert res.status_code == 200, (path, res.status_code, res.text[:300])
                times.sort()
                p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
                print(f"  {path:<40} {statistics.median(times):7.1f} {p95:7.1f}")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--db", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.db:
            await measure(Settings(data_dir=Path(tmp), run_worker=False,
                                   run_scheduler=False), args.runs, args.repeat)
            return
        schema = "bench_" + secrets.token_hex(4)
        engine = create_async_engine(args.db)
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        try:
            await measure(Settings(data_dir=Path(tmp), database_url=args.db,
                                   database_schema=schema, run_worker=False,
                                   run_scheduler=False), args.runs, args.repeat)
        finally:
            async with engine.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            await engine.dispose()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
