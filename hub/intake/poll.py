"""One poll of a ``poll`` zap: call the connector's ``PollTrigger``, store the new items as
trigger events (one run each, deduplicated by the item's key) and keep the cursor."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from hub.errors import HubError
from hub.ids import new_id
from hub.intake import intake_of
from hub.intake.store import Event, save_state
from hub.intake.tables import trigger_state
from hub.sdk import NoCredentials, PollResult, PollTrigger
from hub.store.db import Database

if TYPE_CHECKING:
    from hub.context import Hub

POLL_TIMEOUT = 60.0
#: Share of a poll interval within which a poll by another node counts as this interval's.
POLL_SLACK = 0.8


def poll_source(hub: Hub, source: str) -> tuple[str, type[PollTrigger]]:
    connector_key, _, key = source.partition(".")
    connector = hub.registry.connectors[connector_key]
    return connector_key, next(t for t in connector.triggers if t.key == key)


async def _credentials(hub: Hub, workspace_id: str, connector: str, name: str | None) -> Any:
    if hub.registry.connectors[connector].Credentials is NoCredentials or not name:
        return None
    from hub.services.connections import get_credentials

    return await get_credentials(hub, workspace_id=workspace_id, name=name, connector=connector)


def _client(hub: Hub, connector: str) -> Any:
    """The shared client, limited to the connector's declared ``hosts`` when it has any."""
    hosts = getattr(hub.registry.connectors[connector], "hosts", ())
    if hosts and hasattr(hub.http, "for_hosts"):
        return hub.http.for_hosts(hosts)
    return hub.http


async def claim_poll(db: Database, zap_id: str, workspace_id: str, interval: float) -> bool:
    """Take this interval's poll of a zap; ``False`` when another node polled it already.

    Every node plans every poll zap; the first to stamp ``trigger_state.updated_at`` for the
    interval polls, so the source sees one request per interval however many nodes run.
    """
    now, t = time.time(), trigger_state.c
    try:
        async with db.write() as conn:
            taken = await conn.execute(trigger_state.update().where(
                t.zap_id == zap_id, t.updated_at <= now - interval * POLL_SLACK).values(
                updated_at=now))
            if taken.rowcount:
                return True
            if (await conn.execute(sa.select(t.zap_id).where(t.zap_id == zap_id))).first():
                return False
            await conn.execute(trigger_state.insert().values(
                zap_id=zap_id, workspace_id=workspace_id, updated_at=now))
    except IntegrityError:  # another node inserted the state row at the same moment
        return False
    return True


async def poll_zap(hub: Hub, zap_id: str, workspace_id: str, version: int) -> int:
    """Poll once; return how many runs were started."""
    cz = await hub.compiled_zap(zap_id, version)
    config = cz.zap.trigger.config
    connector, cls = poll_source(hub, config["source"])
    async with hub.db.read() as conn:
        state = (await conn.execute(sa.select(trigger_state).where(
            trigger_state.c.zap_id == zap_id))).first()
    creds = await _credentials(hub, workspace_id, connector, config.get("connection"))
    cursor = state.cursor if state is not None else None
    async with asyncio.timeout(POLL_TIMEOUT):
        result = await cls().poll(cls.Config.model_validate(config.get("config") or {}),
                                  creds, cursor, _client(hub, connector))
    if not isinstance(result, PollResult):
        raise HubError(f"poll trigger '{config['source']}' returned {type(result).__name__}",
                       code="poll_failed")
    # the first poll only sets the baseline (a claim's row alone has no last poll yet)
    fire = (state is not None and state.last_fire is not None) or bool(config.get("fire_on_first"))
    await hub.payloads.prepare(workspace_id)
    now = time.time()
    events = [Event(new_id("evt"), new_id("run"), workspace_id, zap_id, version, "poll",
                    _key(item, cls.dedupe_key),
                    hub.payloads.encode(workspace_id, item) if fire else None, now)
              for item in result.items]
    writer = intake_of(hub).writer
    outcomes = await asyncio.gather(*(writer.submit(e) for e in events))
    async with hub.db.write() as conn:  # after the items: a crash in between re-polls them
        await save_state(conn, zap_id, workspace_id,
                         {"cursor": result.cursor, "last_fire": now, "updated_at": now})
    return sum(1 for o in outcomes if o.run_id and not o.duplicate)


def _key(item: dict[str, Any], field: str) -> str:
    value = item.get(field)
    if value is None:
        raise HubError(f"a polled item has no '{field}'", code="poll_failed")
    return f"poll:{value}"[:256]
