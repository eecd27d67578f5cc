"""Faults on PostgreSQL: the database restarts under a webhook load (the hub reconnects,
every acknowledged delivery runs exactly once) and two nodes migrate at once (one waits).

A node killed mid-run and a node frozen past its lease are tested in ``test_engine_recovery``
and ``test_engine_leases`` (on both backends)."""

from __future__ import annotations

import asyncio
import collections
import os
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pgcluster import private_cluster
from serverhelp import hub_server
from sqlalchemy.ext.asyncio import create_async_engine

from hub.settings import Settings
from hub.store.db import Database
from hub.store.tables import run_steps, runs

HOOK_ZAP = {"name": "hooked", "trigger": {"kind": "webhook"},
            "steps": [{"id": "t", "use": "core.transform", "input": {"b": "{{ trigger.body }}"}}]}


async def _deliver(client: httpx.AsyncClient, path: str, stop: asyncio.Event,
                   answers: list[tuple[int, Any]]) -> None:
    while not stop.is_set():
        try:
            got = await client.post(path, json={"n": len(answers)})
            answers.append((got.status_code, got.json().get("run_id")))
        except httpx.HTTPError as exc:  # a refused connection is no acknowledgement
            answers.append((0, type(exc).__name__))


async def _rows(url: str) -> tuple[dict[str, str], collections.Counter[str]]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            status = dict((await conn.execute(sa.select(runs.c.id, runs.c.status))).all())
            steps = collections.Counter((await conn.execute(sa.select(run_steps.c.run_id).where(
                run_steps.c.status == "succeeded"))).scalars())
    finally:
        await engine.dispose()
    return status, steps


async def test_a_database_restart_under_load_loses_and_repeats_nothing(tmp_path: Path) -> None:
    with private_cluster() as pg:
        data = tmp_path / "node"
        with hub_server(data, database_url=pg.url) as server:
            auth = {"Authorization": f"Bearer {server.token}"}
            async with httpx.AsyncClient(base_url=server.base, timeout=30,
                                         headers=auth) as client:
                made = (await client.post("/api/v1/zaps", json=HOOK_ZAP)).json()
                path = (await client.get(f"/api/v1/zaps/{made['id']}")).json()["webhook"]["path"]
                answers: list[tuple[int, Any]] = []
                stop = asyncio.Event()
                load = [asyncio.create_task(_deliver(client, path, stop, answers))
                        for _ in range(8)]
                while len(answers) < 100:
                    await asyncio.sleep(0.05)
                await asyncio.to_thread(pg.restart)
                restarted = len(answers)
                while len([a for a in answers[restarted:] if a[0] == 202]) < 100:
                    await asyncio.sleep(0.05)
                stop.set()
                await asyncio.gather(*load)
                acked = {rid for code, rid in answers if code == 202}
                deadline = time.monotonic() + 60
                while True:
                    status, steps = await _rows(pg.url)
                    if all(status.get(r) == "succeeded" for r in acked) or \
                            time.monotonic() > deadline:
                        break
                    await asyncio.sleep(0.2)
        log = server.log.read_text()
    codes = collections.Counter(code for code, _ in answers)
    assert set(codes) <= {202, 503}, (codes, log[-3000:])  # never a 500, never a hang
    assert len(acked) == codes[202] >= 200
    assert {status.get(r) for r in acked} == {"succeeded"}, log[-3000:]
    assert set(status) == acked  # a 503 stored nothing
    assert all(steps[r] == 1 for r in acked)  # no step ran twice


@pytest.mark.parametrize("settings", ["postgres"], indirect=True)
async def test_two_nodes_migrating_at_once_take_turns(settings: Settings) -> None:
    first, second = Database.from_settings(settings), Database.from_settings(settings)
    holder = create_async_engine(settings.resolved_database_url)
    try:
        async with holder.connect() as conn:  # a third node is migrating right now
            await conn.execute(sa.text("SELECT pg_advisory_lock(7215843)"))
            both = asyncio.gather(first.migrate(), second.migrate())
            await asyncio.sleep(1.0)
            assert not both.done()  # both wait for the one migrating
            await conn.execute(sa.text("SELECT pg_advisory_unlock(7215843)"))
            await asyncio.wait_for(both, 60)
        async with first.read() as conn:
            heads = (await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
                     ).scalars().all()
            assert "0012" in heads
            await conn.execute(sa.select(runs.c.id).limit(1))
    finally:
        await holder.dispose()
        await first.close()
        await second.close()


def test_pg_binaries_are_found_where_a_restart_test_needs_them() -> None:
    from pgcluster import _bindir

    if os.geteuid() == 0 and _bindir() is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    assert _bindir() is None or (_bindir() / "pg_ctl").exists()  # type: ignore[operator]
