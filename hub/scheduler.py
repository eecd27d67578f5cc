"""Schedules and polls, fired from every ``hub serve`` and ``hub worker`` process with
APScheduler 3.

APScheduler only keeps time. Each schedule fire is a trigger event keyed by
``(zap, scheduled time)`` under a unique constraint, so several processes on one PostgreSQL
(or a restart) start exactly one run per fire. Each poll interval is claimed by one process
(``hub.intake.poll.claim_poll``), so a source is polled once per interval, not once per node.
Missed fires after downtime follow the zap's misfire policy (``skip``, or ``catch_up`` at
most N), decided from the stored last fire time.
Polls store their cursor and start one run per new item (deduplicated by the item's key).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from hub.ids import new_id
from hub.intake import intake_of
from hub.intake.store import Event
from hub.intake.tables import trigger_state
from hub.store.tables import zap_versions, zaps

if TYPE_CHECKING:
    from hub.context import Hub

log = logging.getLogger("hub.scheduler")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
US = timedelta(microseconds=1)
MAX_SCAN = 100_000


def cron_trigger(expr: str, tz: str) -> CronTrigger:
    """A cron trigger from 5 fields, or 6 with seconds first; weekday 0 and 7 are Sunday."""
    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValueError("a cron expression has 5 fields (or 6 with seconds first)")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, dow = fields
    dow = re.sub(r"(?<![/\d])\d+", lambda m: DAYS[int(m.group()) % 7], dow)
    return CronTrigger(second=second, minute=minute, hour=hour, day=day, month=month,
                       day_of_week=dow, timezone=ZoneInfo(tz))


def schedule_trigger(config: dict[str, Any]) -> BaseTrigger:
    """The APScheduler trigger of a ``schedule`` zap's config (validated by its kind)."""
    tz = config.get("timezone") or "UTC"
    if config.get("cron"):
        return cron_trigger(config["cron"], tz)
    return IntervalTrigger(seconds=float(config["interval"]), start_date=EPOCH,
                           timezone=ZoneInfo(tz))


def fires_between(trigger: BaseTrigger, since: datetime, until: datetime,
                  keep: int) -> list[datetime]:
    """The last ``keep`` fire times in ``(since, until]``, oldest first."""
    out: deque[datetime] = deque(maxlen=max(keep, 1))
    t = trigger.get_next_fire_time(None, since + US)
    for _ in range(MAX_SCAN):
        if t is None or t > until:
            break
        out.append(t)
        t = trigger.get_next_fire_time(t, t + US)
    return list(out) if keep > 0 else []


def next_fires(trigger: BaseTrigger, after: datetime, count: int) -> list[datetime]:
    out: list[datetime] = []
    t = trigger.get_next_fire_time(None, after + US)
    while t is not None and len(out) < count:
        out.append(t)
        t = trigger.get_next_fire_time(t, t + US)
    return out


class Scheduler:
    """Keeps one APScheduler job per enabled schedule or poll zap, reloaded on changes."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.aps = AsyncIOScheduler(timezone=UTC, job_defaults={
            "misfire_grace_time": None, "coalesce": False, "max_instances": 1})
        self.plans: dict[str, tuple[int, str]] = {}  # zap id -> (version, kind)
        self._refreshing: asyncio.Task[None] | None = None
        self.fired = intake_of(hub).fires

    async def start(self) -> None:
        self.aps.start()
        await self.refresh()
        self.aps.add_job(self.refresh, IntervalTrigger(seconds=self.hub.settings.trigger_refresh),
                         id="refresh")
        self.aps.add_job(purge_expired, IntervalTrigger(hours=1), args=[self.hub], id="purge")
        intake_of(self.hub).listeners.append(self._changed)

    async def stop(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)
        if self._refreshing is not None:
            await asyncio.gather(self._refreshing, return_exceptions=True)

    def _changed(self, _zap_id: str | None) -> None:
        self._refreshing = asyncio.get_running_loop().create_task(self.refresh())

    async def refresh(self) -> None:
        """Load enabled schedule and poll zaps; (re)plan those that are new or changed."""
        query = sa.select(zaps.c.id, zaps.c.workspace_id, zaps.c.current_version,
                          zaps.c.trigger_kind, zap_versions.c.definition,
                          zap_versions.c.created_at).join(zap_versions, sa.and_(
                              zap_versions.c.zap_id == zaps.c.id,
                              zap_versions.c.version == zaps.c.current_version)).where(
            zaps.c.enabled.is_(True), zaps.c.deleted_at.is_(None),
            zaps.c.trigger_kind.in_(("schedule", "poll")))
        try:
            async with self.hub.db.read() as conn:
                rows = (await conn.execute(query)).all()
        except Exception:  # noqa: BLE001 - the next refresh retries
            log.exception("could not load schedules")
            return
        live = {r.id: r for r in rows}
        for zap_id in [z for z in self.plans if z not in live]:
            self._unplan(zap_id)
        for row in rows:
            if self.plans.get(row.id) != (row.current_version, row.trigger_kind):
                await self._plan(row)

    def _unplan(self, zap_id: str) -> None:
        self.plans.pop(zap_id, None)
        for prefix in ("s:", "p:"):
            if self.aps.get_job(prefix + zap_id):
                self.aps.remove_job(prefix + zap_id)

    async def _plan(self, row: Any) -> None:
        self._unplan(row.id)
        config = row.definition["trigger"].get("config") or {}
        self.plans[row.id] = (row.current_version, row.trigger_kind)
        if row.trigger_kind == "poll":
            self.aps.add_job(self._poll_job, IntervalTrigger(seconds=float(config["interval"])),
                             args=[row.id, row.workspace_id, float(config["interval"])],
                             id="p:" + row.id, next_run_time=datetime.now(UTC))
            return
        trigger = schedule_trigger(config)
        state = await self._state(row.id)
        since = state.last_fire if state and state.last_fire else row.created_at
        now = datetime.now(UTC)
        keep = int(config.get("catch_up_max", 1)) if config.get("misfire") == "catch_up" else 0
        for missed in fires_between(trigger, datetime.fromtimestamp(since, UTC), now, keep):
            await self.fire(row.id, missed.timestamp())
        self._next(row.id, trigger, now)

    def _next(self, zap_id: str, trigger: BaseTrigger, after: datetime) -> None:
        upcoming = next_fires(trigger, after, 1)
        if upcoming and zap_id in self.plans:
            self.aps.add_job(self._fire_and_next, DateTrigger(upcoming[0]), id="s:" + zap_id,
                             args=[zap_id, trigger, upcoming[0]], replace_existing=True)

    async def _fire_and_next(self, zap_id: str, trigger: BaseTrigger, at: datetime) -> None:
        self._next(zap_id, trigger, at)
        await self.fire(zap_id, at.timestamp())

    async def _state(self, zap_id: str) -> Any:
        async with self.hub.db.read() as conn:
            return (await conn.execute(sa.select(trigger_state).where(
                trigger_state.c.zap_id == zap_id))).first()

    async def _zap(self, zap_id: str) -> Any:
        async with self.hub.db.read() as conn:
            return (await conn.execute(sa.select(
                zaps.c.workspace_id, zaps.c.current_version, zaps.c.enabled).where(
                zaps.c.id == zap_id, zaps.c.deleted_at.is_(None)))).first()

    async def fire(self, zap_id: str, at: float) -> str | None:
        """Store the fire at ``at`` (once across processes); the run id if this one stored it."""
        zap = await self._zap(zap_id)
        if zap is None or not zap.enabled:
            return None
        ws, now = zap.workspace_id, time.time()
        await self.hub.payloads.prepare(ws)
        tz = "UTC"
        cz = await self.hub.compiled_zap(zap_id, zap.current_version)
        tz = cz.zap.trigger.config.get("timezone") or tz
        local = datetime.fromtimestamp(at, ZoneInfo(tz))
        data = {"scheduled_at": at, "scheduled_time": local.isoformat(), "timezone": tz,
                "fired_at": now}
        outcome = await intake_of(self.hub).writer.submit(Event(
            new_id("evt"), new_id("run"), ws, zap_id, zap.current_version, "schedule",
            f"schedule:{at:.6f}", self.hub.payloads.encode(ws, data), now,
            state={"last_fire": at, "updated_at": now}))
        self.fired.labels(kind="schedule",
                          outcome="duplicate" if outcome.duplicate else "stored").inc()
        return None if outcome.duplicate else outcome.run_id

    async def _poll_job(self, zap_id: str, workspace_id: str, interval: float) -> None:
        from hub.intake.poll import claim_poll

        try:
            mine = await claim_poll(self.hub.db, zap_id, workspace_id, interval)
        except Exception as exc:  # noqa: BLE001 - the next interval retries
            log.warning("zap %s: poll not claimed: %s", zap_id, type(exc).__name__)
            return
        if mine:
            await self.poll_once(zap_id)

    async def poll_once(self, zap_id: str) -> int:
        """Poll the zap's source once; the number of runs started."""
        from hub.intake.poll import poll_zap

        zap = await self._zap(zap_id)
        if zap is None or not zap.enabled:
            return 0
        try:
            started = await poll_zap(self.hub, zap_id, zap.workspace_id, zap.current_version)
        except Exception as exc:  # noqa: BLE001 - recorded; the next interval retries
            log.warning("zap %s: poll failed: %s", zap_id, type(exc).__name__)
            self.fired.labels(kind="poll", outcome="error").inc()
            return 0
        self.fired.labels(kind="poll", outcome="stored").inc(started)
        return started


async def purge_expired(hub: Hub) -> int:
    """Forget webhook deliveries older than their dedupe window."""
    from hub.intake.tables import trigger_events

    async with hub.db.write() as conn:
        result = await conn.execute(trigger_events.delete().where(
            trigger_events.c.expires_at < time.time()))
    return int(result.rowcount or 0)


async def start_scheduler(hub: Hub) -> Scheduler:
    scheduler = Scheduler(hub)
    await scheduler.start()
    return scheduler


