"""The hub stays responsive while one run or one webhook delivery misbehaves: an expression
that doubles its input under a pipe (issue: 24 x `| [@,@]` blocked /healthz for seconds) fails
with `expression_limit` at once instead of stalling the event loop."""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator

import pytest
from serverhelp import Server, hub_server

#: 9 doublings pass the static check (growth 512 <= 1,024); 60 KB x 512 is 30 MB at run time
DOUBLED = "trigger.a" + " | [@,@]" * 9
RUN_ZAP = {"name": "blowup", "trigger": {"kind": "manual"},
           "steps": [{"id": "s", "use": "core.transform",
                      "input": {"n": "{{ length(to_string(" + DOUBLED + ")) }}"}}]}
HOOK_ZAP = {"name": "dedupe-blowup",
            "trigger": {"kind": "webhook",
                        "config": {"dedupe": "to_string(body.a" + " | [@,@]" * 9 + ")"}},
            "steps": [{"id": "s", "use": "core.transform", "input": {"x": "{{ trigger.body.b }}"}}]}
PAYLOAD = {"a": "x" * 60_000, "b": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with hub_server(tmp_path_factory.mktemp("responsive") / "data") as srv:
        yield srv


def _misbehave(server: Server, hook: str, zap_id: str, stop: threading.Event,
               answers: list[tuple[int, str]]) -> None:
    with server.client() as c:
        while not stop.is_set():
            r = c.post(hook, json=PAYLOAD)
            answers.append((r.status_code, r.json().get("code", "")))
            c.post(f"/api/v1/zaps/{zap_id}/runs", json={"input": PAYLOAD})


def test_healthz_stays_fast_while_runs_and_deliveries_blow_up(server: Server) -> None:
    with server.client() as c:
        zap_id = c.post("/api/v1/zaps", json=RUN_ZAP).json()["id"]
        hook_zap = c.post("/api/v1/zaps", json=HOOK_ZAP).json()["id"]
        hook = c.get(f"/api/v1/zaps/{hook_zap}/trigger").json()["webhook"]["path"]
    stop, answers = threading.Event(), []
    load = threading.Thread(target=_misbehave, args=(server, hook, zap_id, stop, answers))
    load.start()
    latencies = []
    try:
        with server.client() as c:
            c.get("/healthz")
            for _ in range(40):
                started = time.perf_counter()
                assert c.get("/healthz").status_code == 200
                latencies.append(time.perf_counter() - started)
                time.sleep(0.05)
    finally:
        stop.set()
        load.join(60)
    # a sanity bound, not a benchmark: a stalled loop makes most samples take seconds
    assert statistics.median(latencies) < 0.1, sorted(latencies)
    assert sorted(latencies)[int(len(latencies) * 0.9)] < 0.1, sorted(latencies)
    assert answers and set(answers) == {(422, "expression_limit")}
    with server.client() as c:
        runs = c.get("/api/v1/runs", params={"zap_id": zap_id, "limit": 5}).json()["items"]
        assert runs
        for item in runs:
            run = c.get(f"/api/v1/runs/{item['id']}?").json()
            if run["status"] in ("queued", "running"):
                continue
            assert run["status"] == "failed" and run["error"]["code"] == "expression_limit"
            assert len(run["steps"]) == 1  # one attempt: a limit is not retried
