"""Engine overhead per AI step: a one-step ``ai.generate`` zap against a mock OpenAI-compatible
provider (aiohttp, in a subprocess, on loopback).

    taskset -c 0 python bench/engine_ai.py [--runs 500] [--concurrency 1]

Per step, overhead = the step's duration (render, governance, routing, budgets, accounting,
provider client) minus the provider call's measured latency; the figure printed is the
engine's own time per AI step, with the model call taken out.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from hub.ai import config as aiconf
from hub.context import Hub
from hub.engine.worker import Worker
from hub.services import identity, zaps
from hub.services import runs as runs_svc
from hub.settings import Settings

SERVER = r'''
import sys
from aiohttp import web
BODY = {"id": "chatcmpl-1", "object": "chat.completion", "model": "m",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"},
                     "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}}
async def chat(request):
    await request.read()
    return web.json_response(BODY)
app = web.Application()
app.router.add_post("/v1/chat/completions", chat)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit("mock provider did not start")


async def bench(args: argparse.Namespace, port: int, data_dir: Path) -> list[float]:
    settings = Settings(data_dir=data_dir, egress_allow="127.0.0.1/32",
                        worker_concurrency=args.concurrency)
    hub = await Hub.open(settings)
    try:
        await identity.bootstrap(hub)
        ws = (await hub_workspace(hub))
        await aiconf.put_model(hub, workspace_id=ws, data={
            "name": "mock", "provider": "openai_compat",
            "config": {"model": "m", "base_url": f"http://127.0.0.1:{port}/v1"}})
        await aiconf.put_policy(hub, workspace_id=ws, data={"name": "default",
                                                            "candidates": ["mock"]})
        await aiconf.put_settings(hub, workspace_id=ws, user_id=None, data={"guardrails": {
            "guardrails": [{"key": "personal_data", "mode": "redact"}]}})
        zap = await zaps.create_zap(hub, workspace_id=ws, document={
            "name": "ai", "trigger": {"kind": "manual"}, "steps": [{
                "id": "g", "use": "ai.generate",
                "input": {"prompt": "Write to {{ trigger.name }} about order 42"}}]})
        ids = [(await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"],
                                         data={"name": f"user {i}"}))["id"]
               for i in range(args.runs)]
        await Worker(hub, poll_interval=0.01).run_until_idle(600)
        overhead = []
        for rid in ids:
            run = await runs_svc.get_run(hub, workspace_id=ws, run_id=rid)
            assert run["status"] == "succeeded", run["error"]
            step = run["steps"][0]
            overhead.append(step["duration_ms"] - step["output"]["usage"]["latency_ms"])
        return overhead
    finally:
        await hub.close()


async def hub_workspace(hub: Hub) -> str:
    import sqlalchemy as sa

    from hub.store.tables import workspaces

    async with hub.db.read() as conn:
        return (await conn.execute(sa.select(workspaces.c.id))).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=1)
    args = parser.parse_args()
    port = free_port()
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(port)])
    try:
        wait_port(port)
        with tempfile.TemporaryDirectory() as tmp:
            overhead = asyncio.run(bench(args, port, Path(tmp)))
    finally:
        server.terminate()
        server.wait(10)
    overhead.sort()
    print(json.dumps({
        "runs": len(overhead), "overhead_ms_median": round(statistics.median(overhead), 3),
        "overhead_ms_p95": round(overhead[int(len(overhead) * 0.95) - 1], 3),
        "note": "engine time per AI step excluding the provider call (SQLite, guardrail "
                "personal_data in redact mode, routing, budget check, usage row)"}))


if __name__ == "__main__":
    main()
