# ruff: noqa: F811 - the hub and ws fixtures come from flow_support
"""``core.loop``: sub-steps per item, outputs in order, bounded items and concurrency, each
iteration's steps checkpointed as ``<run>:<loop>:<index>:<step>``, and a worker killed
mid-loop resumes without repeating finished items (side effects counted on an HTTP sink)."""

from __future__ import annotations

import asyncio
import collections
import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from engine_support import CHILD, child_env, open_hub, until
from flow_support import echo, finish, hub, make_zap, rows, run_zap, ws  # noqa: F401

from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import ZapInvalid
from hub.services import runs as runs_svc
from hub.settings import Settings
from hub.zaps import compile_zap
from plugins import engine_fixtures as fx


def loop(*steps: dict[str, Any], items: Any = "{{ trigger.items }}", **inp: Any) -> dict[str, Any]:
    return {"id": "each", "use": "core.loop", "input": {"items": items, **inp},
            "steps": list(steps)}


async def test_steps_run_per_item_with_outputs_in_order(hub: Hub, ws: str) -> None:
    body = loop(echo("double", value="{{ loop.item }}"),
                echo("tag", value={"i": "{{ loop.index }}", "prev": "{{ steps.double.value }}",
                                   "first": "{{ steps.first.label }}"}))
    zap = await make_zap(hub, ws, [echo("first"), body, echo("after",
                                                             value="{{ steps.each.count }}")])
    run = await run_zap(hub, ws, zap, {"items": ["a", "b", "c"]})
    assert run["status"] == "succeeded", run
    each = next(s for s in run["steps"] if s["step_id"] == "each")["output"]
    assert each["count"] == 3
    assert [r["value"] for r in each["results"]] == [
        {"i": i, "prev": v, "first": "first"} for i, v in enumerate("abc")]
    assert [s for s, _ in rows(run)] == ["first", "each:0:double", "each:0:tag", "each:1:double",
                                         "each:1:tag", "each:2:double", "each:2:tag", "each",
                                         "after"]
    keys = [c["key"] for c in fx.CALLS if c["step_id"] == "double"]
    assert keys == [f"{run['id']}:each:{i}:double" for i in range(3)]
    assert run["result"]["value"] == 3


async def test_iterations_run_concurrently_within_the_bound(hub: Hub, ws: str) -> None:
    fx.GATE = asyncio.Event()
    zap = await make_zap(hub, ws, [loop(echo("slow", value="{{ loop.item }}", gate=True),
                                        concurrency=3)])
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap,
                                    data={"items": list(range(7))}))["id"]
    worker = Worker(hub, poll_interval=0.01)
    task = asyncio.create_task(worker.run_until_idle(30))
    await until(lambda: len(fx.CALLS) >= 3)
    await asyncio.sleep(0.1)
    assert len(fx.CALLS) == 3  # three at once, no more
    fx.GATE.set()
    await task
    run = await runs_svc.get_run(hub, workspace_id=ws, run_id=rid)
    assert run["status"] == "succeeded"
    assert [r["value"] for r in run["result"]["results"]] == list(range(7))


async def test_bad_items_fail_with_stable_codes(hub: Hub, ws: str) -> None:
    zap = await make_zap(hub, ws, [loop(echo("x"), max_items=3)])
    for items, code in ((None, "loop_not_a_list"), ({"a": 1}, "loop_not_a_list"),
                        ("abc", "loop_not_a_list"), (list(range(4)), "loop_too_many_items")):
        run = await run_zap(hub, ws, zap, {"items": items})
        assert run["status"] == "failed" and run["error"]["code"] == code, run["error"]
        assert run["error"]["step_id"] == "each"
    empty = await run_zap(hub, ws, zap, {"items": []})
    assert empty["status"] == "succeeded" and empty["result"] == {"count": 0, "results": []}
    assert fx.CALLS == []


async def test_a_filter_skips_its_item_and_a_failure_retries_only_that_item(
        hub: Hub, ws: str) -> None:
    keep = {"id": "keep", "use": "core.filter", "input": {"condition": "{{ loop.item.keep }}"}}
    flaky = echo("work", value="{{ loop.item.n }}", fail_until="{{ loop.item.flaky }}")
    flaky["retry"] = {"attempts": 2, "backoff": 0, "jitter": False}
    items = [{"n": 0, "keep": True, "flaky": 0}, {"n": 1, "keep": False, "flaky": 0},
             {"n": 2, "keep": True, "flaky": 1}, {"n": 3, "keep": True, "flaky": 0}]
    run = await run_zap(hub, ws, await make_zap(hub, ws, [loop(keep, flaky)]), {"items": items})
    assert run["status"] == "succeeded", run["error"]
    results = run["result"]["results"]
    assert results[1] == {"passed": False}
    assert [r["value"] for r in results if "value" in r] == [0, 2, 3]
    executed = collections.Counter(c["key"].split(":", 1)[1] for c in fx.CALLS)
    assert executed == {"each:0:work": 1, "each:2:work": 2, "each:3:work": 1}


def test_loop_validation(hub: Hub) -> None:
    doc = {"name": "z", "trigger": {"kind": "manual"}, "steps": [
        loop(echo("inner", value="{{ loop.item }}"),
             {"id": "pause", "use": "core.delay", "input": {"seconds": 1}}),
        echo("after", value="{{ steps.inner.value }}"),
        echo("outside", value="{{ loop.item }}")]}
    with pytest.raises(ZapInvalid) as err:
        compile_zap(doc, hub.registry)
    found = {e["path"]: e["message"] for e in err.value.extra["errors"]}
    assert found["steps[0].steps[1].use"] == "core.delay cannot be used inside a loop"
    assert found["steps[1].input.value"] == \
        "unknown step 'inner' (it runs inside loop 'each': read steps.each.results)"
    assert "unknown name 'loop'" in found["steps[2].input.value"]


class Sink:
    """A loopback HTTP server counting requests by idempotency key; the ``hang_at``-th request
    (1-based) gets no answer until ``release`` is set."""

    def __init__(self, hang_at: int = 0) -> None:
        self.hits: list[tuple[str, Any]] = []
        self.release = threading.Event()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                sink.hits.append((self.headers["Idempotency-Key"], body))
                if len(sink.hits) == hang_at:
                    sink.release.wait(60)
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b'{"ok": true}')

            def log_message(self, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


@pytest.fixture
def sink() -> Iterator[Sink]:
    s = Sink(hang_at=4)
    try:
        yield s
    finally:
        s.close()


async def test_a_worker_killed_mid_loop_resumes_without_repeating_finished_items(
        hub: Hub, ws: str, settings: Settings, sink: Sink) -> None:
    post = {"id": "post", "use": "http.request", "input": {
        "method": "POST", "url": sink.url, "body": {"n": "{{ loop.item }}"},
        "idempotency_header": "Idempotency-Key"}}
    zap = await make_zap(hub, ws, [loop(post)])
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap,
                                    data={"items": list(range(6))}))["id"]
    env = child_env(settings, "") | {"HUB_EGRESS_ALLOW": "127.0.0.1"}
    child = subprocess.Popen([sys.executable, str(CHILD)], env=env, stdout=subprocess.DEVNULL)
    try:
        await until(lambda: len(sink.hits) >= 4 or child.poll() is not None, timeout=30)
        assert child.poll() is None, "the child worker exited early"
    finally:
        child.send_signal(signal.SIGKILL)  # mid-loop: item 3's request is in flight
        child.wait(10)
    sink.release.set()
    done = [s for s, status in rows(await runs_svc.get_run(hub, workspace_id=ws, run_id=rid))
            if status == "succeeded"]
    assert done == ["each:0:post", "each:1:post", "each:2:post"]

    again = await open_hub(settings.model_copy(update={"egress_allow": "127.0.0.1"}))
    try:
        run = await finish(again, ws, rid)
    finally:
        await again.close()
    assert run["status"] == "succeeded", run["error"]
    counts = collections.Counter(key for key, _ in sink.hits)
    assert counts == {f"{rid}:each:{i}:post": 2 if i == 3 else 1 for i in range(6)}
    assert [b["n"] for _, b in sink.hits] == [0, 1, 2, 3, 3, 4, 5]
    assert run["result"]["count"] == 6 and all(
        r["status"] == 200 for r in run["result"]["results"])


async def test_a_loop_runs_a_bounded_number_of_steps(hub: Hub, ws: str) -> None:
    zap = await make_zap(hub, ws, [loop(echo("a"), echo("b"), max_items=10_000)])
    run = await run_zap(hub, ws, zap, {"items": list(range(5001))})
    assert run["status"] == "failed" and run["error"]["code"] == "loop_too_many_items"
    assert "at most 10,000 steps" in run["error"]["message"] and fx.CALLS == []


async def test_concurrent_failures_are_all_recorded_and_retried(hub: Hub, ws: str) -> None:
    flaky = echo("work", value="{{ loop.item }}", fail_until=1)
    flaky["retry"] = {"attempts": 2, "backoff": 0, "jitter": False}
    zap = await make_zap(hub, ws, [loop(flaky, concurrency=4)])
    run = await run_zap(hub, ws, zap, {"items": [0, 1, 2, 3]})
    assert run["status"] == "succeeded", run["error"]
    failed = [s for s in run["steps"] if s["status"] == "failed"]
    assert failed and all("retry_in" in s["error"] for s in failed)  # every one recorded
    assert [r["value"] for r in run["result"]["results"]] == [0, 1, 2, 3]
    executed = collections.Counter(c["key"].split(":", 1)[1] for c in fx.CALLS)
    assert executed == {f"each:{i}:work": 2 for i in range(4)}  # a failure, then a success
