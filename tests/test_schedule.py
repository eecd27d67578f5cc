"""Schedules: cron and interval rules, one run per fire across processes, misfire policy."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from apiclient import Api

from hub.context import Hub
from hub.intake.store import save_state
from hub.scheduler import Scheduler, cron_trigger, fires_between, next_fires
from hub.services import identity
from hub.services import runs as runs_svc
from hub.services import zaps as zaps_svc
from hub.settings import Settings
from hub.store.tables import runs


def schedule_zap(name: str = "tick", **config: Any) -> dict[str, Any]:
    return {"name": name, "trigger": {"kind": "schedule", "config": config},
            "steps": [{"id": "t", "use": "core.transform",
                       "input": {"at": "{{ trigger.scheduled_time }}"}}]}


async def _fires(hub: Hub, zap_id: str) -> list[float]:
    async with hub.db.read() as conn:
        rows = (await conn.execute(sa.select(runs.c.workspace_id, runs.c.trigger_data).where(
            runs.c.zap_id == zap_id, runs.c.source == "schedule"))).all()
    for ws in {r.workspace_id for r in rows}:
        await hub.payloads.prepare(ws)
    return sorted(hub.payloads.decode(r.workspace_id, r.trigger_data)["scheduled_at"]
                  for r in rows)


def test_cron_with_seconds_weekdays_and_time_zone() -> None:
    trig = cron_trigger("30 0 9 * * 0", "Europe/Paris")  # Sundays 09:00:30 Paris time
    after = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday
    first, second = next_fires(trig, after, 2)
    assert first.isoformat() == "2026-01-04T09:00:30+01:00"
    assert (second - first).days == 7
    summer = next_fires(cron_trigger("0 12 * * 7", "Europe/Paris"),
                        datetime(2026, 7, 1, tzinfo=UTC), 1)[0]
    assert summer.isoformat() == "2026-07-05T12:00:00+02:00"
    with pytest.raises(ValueError):
        cron_trigger("* * *", "UTC")


def test_fires_between_keeps_the_latest() -> None:
    trig = cron_trigger("*/10 * * * *", "UTC")
    since = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    until = datetime(2026, 1, 1, 1, 0, tzinfo=UTC)
    got = fires_between(trig, since, until, 2)
    assert [t.minute for t in got] == [50, 0]
    assert fires_between(trig, since, until, 0) == []


async def test_two_schedulers_fire_each_time_once(hub: Hub, settings: Settings,
                                                  owner: identity.Principal) -> None:
    zap = await zaps_svc.create_zap(hub, workspace_id=owner.workspace_id,
                                    document=schedule_zap(interval=1))
    other = await Hub.open(settings)
    first, second = Scheduler(hub), Scheduler(other)
    try:
        at = float(int(time.time()) + 100)
        results = await asyncio.gather(*[s.fire(zap["id"], at)
                                         for _ in range(5) for s in (first, second)])
        assert len([r for r in results if r]) == 1
        await asyncio.gather(first.start(), second.start())
        deadline = time.monotonic() + 10
        while len(await _fires(hub, zap["id"])) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
    finally:
        await asyncio.gather(first.stop(), second.stop())
        await other.close()
    fires = await _fires(hub, zap["id"])
    assert len(fires) >= 4 and len(set(fires)) == len(fires)
    assert all(f == int(f) for f in fires)  # interval fires are aligned, so processes agree
    dupes = sum(s.fired.labels(kind="schedule", outcome="duplicate")._value.get()
                for s in (first, second))
    assert dupes >= 5  # both processes tried the shared fire times


@pytest.mark.parametrize(("policy", "expected"), [("skip", 0), ("catch_up", 3)])
async def test_misfire_policy_after_downtime(hub: Hub, owner: identity.Principal,
                                             policy: str, expected: int) -> None:
    ws = owner.workspace_id
    zap = await zaps_svc.create_zap(hub, workspace_id=ws, document=schedule_zap(
        cron="*/5 * * * *", misfire=policy, catch_up_max=3))
    began = time.time()
    async with hub.db.write() as conn:
        await save_state(conn, zap["id"], ws, {"last_fire": began - 3600, "updated_at": began})
    for _ in range(2):  # a restart re-plans the same missed fires: still one run each
        scheduler = Scheduler(hub)
        await scheduler.start()
        await scheduler.stop()
    fires = [f for f in await _fires(hub, zap["id"]) if f <= began]
    assert len(fires) == expected
    assert all(f % 300 == 0 for f in fires)
    if expected:
        listed = await runs_svc.list_runs(hub, workspace_id=ws, zap_id=zap["id"])
        assert {r["source"] for r in listed["items"]} == {"schedule"}


async def test_api_shows_next_fire_times(api: Api) -> None:
    made = await api.post("/api/v1/zaps", json=schedule_zap(
        cron="0 9 * * mon-fri", timezone="America/New_York"))
    info = (await api.get(f"/api/v1/zaps/{made.json()['id']}/trigger?count=3")).json()
    assert info["kind"] == "schedule" and len(info["next_fires"]) == 3
    for fire in info["next_fires"]:
        local = datetime.fromisoformat(fire["time"])
        assert (local.hour, local.minute) == (9, 0) and local.weekday() < 5
        assert fire["at"] > time.time()


async def test_invalid_schedules_are_refused(api: Api) -> None:
    for config, path in (({"cron": "61 * * * *"}, "trigger.config"),
                         ({"interval": 60, "timezone": "Mars/Olympus"}, "trigger.config.timezone"),
                         ({"cron": "* * * * *", "interval": 5}, "trigger.config"),
                         ({}, "trigger.config")):
        bad = await api.post("/api/v1/zaps", json=schedule_zap(**config))
        assert bad.status_code == 422, config
        assert bad.json()["code"] == "invalid_zap"
        assert bad.json()["errors"][0]["path"] == path
