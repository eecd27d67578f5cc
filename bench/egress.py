"""Outbound HTTP throughput of the egress client's candidate transports, with the checks on.

A local aiohttp sink runs in a subprocess pinned to one core; the client is pinned to the other.
Each candidate sends N POSTs of 1 KB with C concurrent tasks, three times; the median run's
req/s and p99 latency are printed. Every candidate resolves through the egress policy (the
sink's address is opened with an allow-list entry, exactly as an operator would).

    python bench/egress.py [--requests 20000] [--concurrency 32] [--repeat 3] [--only NAME]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable

from hub.egress import EgressPolicy, create_client
from hub.egress.aiohttp_pool import CheckedResolver

SINK = """
import sys
from aiohttp import web
async def sink(request):
    await request.read()
    return web.Response(body=b'{"ok":true}', content_type="application/json")
app = web.Application()
app.router.add_post("/sink", sink)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

POLICY = EgressPolicy.parse("127.0.0.1/32")
BODY = b"x" * 1024


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_sink(port: int) -> subprocess.Popen[bytes]:
    cores = sorted(os.sched_getaffinity(0))
    cmd = [sys.executable, "-c", SINK, str(port)]
    if len(cores) > 1:
        cmd = ["taskset", "-c", str(cores[-1]), *cmd]
    proc = subprocess.Popen(cmd)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("the sink did not start")


Send = Callable[[], Awaitable[None]]


async def _drive(send: Send, total: int, concurrency: int) -> tuple[float, float]:
    latencies: list[float] = []
    left = total

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            t0 = time.perf_counter()
            await send()
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    latencies.sort()
    return total / elapsed, latencies[int(len(latencies) * 0.99) - 1] * 1000


async def egress(url: str, backend: str, total: int, conc: int) -> tuple[float, float]:
    client = create_client(POLICY, backend=backend)  # type: ignore[arg-type]
    try:
        async def send() -> None:
            r = await client.post(url, content=BODY)
            assert r.status_code == 200

        return await _drive(send, total, conc)
    finally:
        await client.aclose()


async def httpx_aiohttp(url: str, total: int, conc: int) -> tuple[float, float]:
    import aiohttp
    import httpx
    from httpx_aiohttp import AiohttpTransport

    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
        limit=100, resolver=CheckedResolver(POLICY)))
    client = httpx.AsyncClient(transport=AiohttpTransport(client=session))
    try:
        async def send() -> None:
            r = await client.post(url, content=BODY)
            assert r.status_code == 200

        return await _drive(send, total, conc)
    finally:
        await client.aclose()


async def raw_aiohttp(url: str, total: int, conc: int) -> tuple[float, float]:
    import aiohttp

    POLICY.check("127.0.0.1", ["127.0.0.1"])  # IP literals skip aiohttp's resolver
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            limit=100, resolver=CheckedResolver(POLICY))) as session:
        async def send() -> None:
            async with session.post(url, data=BODY) as r:
                await r.read()
                assert r.status == 200

        return await _drive(send, total, conc)


CANDIDATES = {
    "httpx API, httpcore pool + checked backend": lambda u, n, c: egress(u, "httpcore", n, c),
    "httpx API, aiohttp pool + checked resolver (hub default)":
        lambda u, n, c: egress(u, "aiohttp", n, c),
    "httpx API, httpx-aiohttp transport + checked resolver": httpx_aiohttp,
    "raw aiohttp + checked resolver (no httpx API)": raw_aiohttp,
}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--requests", type=int, default=20_000)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", default=None, help="run candidates whose name contains this")
    args = p.parse_args()
    cores = sorted(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {cores[0]})
    port = _free_port()
    sink = start_sink(port)
    url = f"http://127.0.0.1:{port}/sink"
    print(f"{args.requests} POSTs of 1 KB, {args.concurrency} concurrent, median of "
          f"{args.repeat}; client on core {cores[0]}, sink on core {cores[-1]}")
    try:
        for name, run in CANDIDATES.items():
            if args.only and args.only not in name:
                continue
            try:
                results = [asyncio.run(run(url, args.requests, args.concurrency))
                           for _ in range(args.repeat)]
            except ImportError as exc:
                print(f"{name:60s} skipped ({exc.name} is not installed)")
                continue
            rate = statistics.median(r[0] for r in results)
            p99 = statistics.median(r[1] for r in results)
            print(f"{name:60s} {rate:8.0f} req/s   p99 {p99:7.1f} ms", flush=True)
    finally:
        sink.terminate()
        sink.wait()


if __name__ == "__main__":
    main()
