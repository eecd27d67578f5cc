"""Poison runs: whatever the engine cannot execute ends ``failed`` with a stable code, once.

Regression tests for runs that used to be re-queued forever with a traceback each time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
import sqlalchemy as sa
from engine_support import echo, open_hub, queue, run_row, step_rows, until

from hub.context import Hub
from hub.engine import executor
from hub.engine.worker import Worker
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import run_steps, runs
from plugins import engine_fixtures as fx

RETRY = {"attempts": 2, "backoff": 0.01, "jitter": False}


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    """A hub with the engine test plugin (overrides conftest's ``hub``)."""
    fx.reset()
    h = await open_hub(settings.model_copy(update={"max_run_claims": 3}))
    try:
        yield h
    finally:
        await h.close()
        fx.reset()


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {"leaf": True}
    for _ in range(depth):
        value = {"a": value}
    return value


async def drive(hub: Hub, run_id: str, timeout: float = 15.0, lease: float = 5.0) -> Any:
    """Run workers until the run is final; the row (a loop would hit the deadline)."""
    worker = Worker(hub, poll_interval=0.01, lease_seconds=lease)
    deadline = time.monotonic() + timeout
    while (row := await run_row(hub, run_id)).status not in runs_svc.FINAL:
        assert time.monotonic() < deadline, f"run still {row.status} after {row.claims} claims"
        await worker.run_until_idle(timeout)
        await until(lambda: True)
    return row


async def step_errors(hub: Hub, run_id: str) -> list[Any]:
    async with hub.db.read() as conn:
        return list((await conn.execute(sa.select(run_steps.c.error).where(
            run_steps.c.run_id == run_id).order_by(run_steps.c.seq))).scalars())


# --- the three examples -------------------------------------------------------------


async def test_deep_echo_fails_the_step_once(hub: Hub, ws: str,
                                             caplog: pytest.LogCaptureFixture) -> None:
    [rid] = await queue(hub, ws, [echo("a", value="{{ trigger }}"), echo("b")])
    async with hub.db.write() as conn:  # a body nested 300 deep, as a webhook delivered it
        await conn.execute(runs.update().where(runs.c.id == rid).values(
            trigger_data=hub.payloads.encode(ws, nested(300))))
    with caplog.at_level(logging.WARNING, logger="hub"):
        row = await drive(hub, rid)
    assert row.status == "failed" and row.claims == 1
    # the expression limits refuse to build a value that deep: the action never runs
    assert row.error["code"] == "expression_limit" and row.error["step_id"] == "a"
    assert await step_rows(hub, rid) == [("a", "failed")]
    assert fx.CALLS == []
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("where", ["input", "when", "output"])
async def test_any_exception_from_an_expression_fails_the_step(hub: Hub, ws: str,
                                                               where: str) -> None:
    boom = 'ceil(to_number(\'1e999\'))'  # OverflowError inside jmespath
    step = echo("a", **({"value": "{{ " + boom + " }}"} if where == "input" else {}))
    extra: dict[str, Any] = {}
    if where == "when":
        step["when"] = f"{boom} > `1`"
    if where == "output":
        extra["output"] = {"x": "{{ " + boom + " }}"}
    doc = {"name": "z", "trigger": {"kind": "manual"}, "steps": [step], **extra}
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=doc)
    rid = (await runs_svc.start_run(hub, workspace_id=ws, zap_id=zap["id"], data={}))["id"]
    row = await drive(hub, rid)
    assert row.status == "failed" and row.claims == 1
    assert row.error["code"].startswith("expression_")
    assert len(await step_rows(hub, rid)) == 1
    assert len(fx.CALLS) == (1 if where == "output" else 0)


async def test_altered_trigger_ciphertext_fails_the_run(hub: Hub, ws: str) -> None:
    [rid] = await queue(hub, ws, [echo("a")])
    async with hub.db.write() as conn:
        blob = bytearray((await conn.execute(sa.select(runs.c.trigger_data).where(
            runs.c.id == rid))).scalar_one())
        assert blob[0] == 1  # sealed
        blob[-1] ^= 0xFF
        await conn.execute(runs.update().where(runs.c.id == rid).values(
            trigger_data=bytes(blob)))
    row = await drive(hub, rid)
    assert row.status == "failed" and row.claims == 1
    assert row.error["code"] == "decryption_failed"
    assert row.error["message"].startswith("trigger data: ")
    assert await step_rows(hub, rid) == [] and fx.CALLS == []


async def test_altered_step_output_fails_the_resumed_run(hub: Hub, ws: str) -> None:
    [rid] = await queue(hub, ws, [echo("a"), echo("b", fatal=True)])
    assert (await drive(hub, rid)).status == "failed"
    async with hub.db.write() as conn:
        await conn.execute(run_steps.update().where(
            run_steps.c.run_id == rid, run_steps.c.step_id == "a").values(output=b"\x01bad"))
    await runs_svc.rerun(hub, workspace_id=ws, run_id=rid)
    row = await drive(hub, rid)
    assert row.status == "failed" and row.error["code"] == "decryption_failed"
    assert row.error["message"].startswith("output of step a: ")


# --- other engine failures ------------------------------------------------------------------


async def test_unexpected_exception_around_a_step_follows_the_retry_policy(
        hub: Hub, ws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    async def broken(*_a: Any, **_k: Any) -> None:
        raise RuntimeError("governance exploded")

    monkeypatch.setattr(executor, "governor_for", broken)
    [rid] = await queue(hub, ws, [echo("a", retry=RETRY)])
    row = await drive(hub, rid)
    assert row.status == "failed" and row.error["code"] == "engine_error"
    assert "RuntimeError: governance exploded" in row.error["message"]
    assert await step_rows(hub, rid) == [("a", "failed"), ("a", "failed")]  # 2 attempts
    assert fx.CALLS == []


async def test_a_step_row_the_database_refuses_fails_that_step_alone(hub: Hub, ws: str) -> None:
    [bad] = await queue(hub, ws, [echo("a", unstorable_error=True)])
    [good] = await queue(hub, ws, [echo("a"), echo("b")], name="good")
    row = await drive(hub, bad)
    assert row.status == "failed" and row.error["code"] == "engine_error"
    assert "cannot be stored" in row.error["message"]
    assert await step_rows(hub, bad) == [("a", "failed")]
    assert (await run_row(hub, good)).status == "succeeded"


async def test_failure_outside_any_step_fails_the_run(hub: Hub, ws: str,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    [rid] = await queue(hub, ws, [echo("a")])

    async def broken(*_a: Any) -> None:
        raise KeyError("no such thing")

    monkeypatch.setattr(hub, "compiled_zap", broken)
    row = await drive(hub, rid)
    assert row.status == "failed" and row.claims == 1 and row.error["code"] == "engine_error"
    assert row.lease_owner is None and row.finished_at


# --- runs that crash every worker -----------------------------------------------------------


async def test_a_database_failure_requeues_but_not_forever(
        hub: Hub, ws: str, monkeypatch: pytest.MonkeyPatch) -> None:
    [rid] = await queue(hub, ws, [echo("a")])

    async def unreachable(*_a: Any) -> None:
        raise sa.exc.OperationalError("SELECT", {}, OSError("connection refused"))

    monkeypatch.setattr(hub, "compiled_zap", unreachable)
    row = await drive(hub, rid, lease=0.05)  # released for min(lease, 5 s) each time
    assert row.status == "failed" and row.error["code"] == "too_many_claims"
    assert row.claims == 4  # HUB_MAX_RUN_CLAIMS=3 in these tests, then the failing claim


async def die_after_claim(hub: Hub, run_id: str) -> None:
    """A worker claims the run with a short lease, then dies before committing anything."""
    dead = Worker(hub, lease_seconds=0.05)
    assert [c.id for c in await dead.claim(1)] == [run_id]
    await asyncio.sleep(0.06)  # its lease expires


async def test_a_run_that_kills_every_worker_fails_after_the_claim_limit(
        hub: Hub, ws: str, caplog: pytest.LogCaptureFixture) -> None:
    [rid] = await queue(hub, ws, [echo("a")])
    for _ in range(3):  # HUB_MAX_RUN_CLAIMS=3 in these tests
        await die_after_claim(hub, rid)
    survivor = Worker(hub, lease_seconds=1.0)
    with caplog.at_level(logging.WARNING, logger="hub"):
        assert await survivor.claim(1) == []  # the 4th claim fails it instead of running it
    row = await run_row(hub, rid)
    assert row.status == "failed" and row.error["code"] == "too_many_claims"
    assert row.lease_owner is None and row.stalled_claims == 0 and fx.CALLS == []
    assert caplog.text.count("too_many_claims") == 1 and "Traceback" not in caplog.text
    await runs_svc.rerun(hub, workspace_id=ws, run_id=rid)  # a re-run gets a fresh budget
    assert [c.id for c in await survivor.claim(1)] == [rid]


async def test_a_committed_step_resets_the_claim_count(hub: Hub, ws: str) -> None:
    fx.GATE = asyncio.Event()  # never set: step b hangs
    [rid] = await queue(hub, ws, [echo("a"), echo("b", gate=True)])
    for _ in range(2):
        await die_after_claim(hub, rid)
    third = Worker(hub, lease_seconds=0.05)
    assert await third.claim_and_start(1) == 1  # commits step a, then hangs in b ...
    await until(lambda: [c["step_id"] for c in fx.CALLS] == ["a", "b"])
    task = third.active[rid]
    third.cancel_local(rid, "lost")  # ... and dies
    assert await task is None
    await third.cp.close()
    row = await run_row(hub, rid)
    assert row.status == "running" and row.stalled_claims == 0 and row.claims == 3
    await asyncio.sleep(0.06)
    fx.GATE.set()
    assert (await drive(hub, rid)).status == "succeeded"  # a 4th claim: allowed, progress reset
    assert [c["step_id"] for c in fx.CALLS] == ["a", "b", "b"]
