"""Zaps: create, version, enable/disable, delete, import and export."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from hub import audit
from hub.errors import Conflict, NotFound
from hub.ids import looks_like_id, new_id
from hub.intake import hooks as trigger_rows
from hub.services.connection_policy import check_zap
from hub.store.tables import runs, zap_versions, zaps
from hub.zaps import Zap, compile_zap, dump_document

if TYPE_CHECKING:
    from hub.context import Hub


def _definition(zap: Zap) -> dict[str, Any]:
    """What a version stores: the document without ``enabled`` (that is zap state)."""
    return zap.model_dump(mode="json", exclude={"enabled"}, exclude_defaults=False)


def _changed(hub: Hub, zap_id: str) -> None:
    """Cached hooks and schedules of this zap are stale now."""
    if hub.intake is not None:
        hub.intake.forget(zap_id)


async def _audit(conn: Any, workspace_id: str, action: str, zap_id: str,
                 **data: Any) -> None:
    """Record a change of the zap in its transaction (last statement: it locks the head)."""
    await audit.append(conn, [audit.Entry(workspace_id, action, audit.current_actor(), "zap",
                                          zap_id, data=data)])


def _summary(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "enabled": row.enabled,
            "version": row.current_version, "trigger_kind": row.trigger_kind,
            "created_at": row.created_at, "updated_at": row.updated_at}


async def _live(conn: Any, workspace_id: str, zap_id: str) -> Any:
    row = (await conn.execute(sa.select(zaps).where(
        zaps.c.id == zap_id, zaps.c.workspace_id == workspace_id,
        zaps.c.deleted_at.is_(None)))).first()
    if row is None:
        raise NotFound(f"no zap '{zap_id}'", code="zap_not_found")
    return row


async def _name_free(conn: Any, workspace_id: str, name: str, but: str | None = None) -> None:
    query = sa.select(zaps.c.id).where(zaps.c.workspace_id == workspace_id,
                                       zaps.c.name == name, zaps.c.deleted_at.is_(None))
    if but:
        query = query.where(zaps.c.id != but)
    if (await conn.execute(query)).first():
        raise Conflict(f"a zap named '{name}' already exists", code="zap_name_taken")


async def create_zap(hub: Hub, *, workspace_id: str, document: dict[str, Any],
                     user_id: str | None = None, role: str | None = None) -> dict[str, Any]:
    """Validate and store a new zap as version 1 (``role``: the saver's, for connection
    policies; ``None`` for operators)."""
    zap = compile_zap(document, hub.registry).zap
    now = time.time()
    zid = new_id("zap")
    async with hub.db.write() as conn:
        await _name_free(conn, workspace_id, zap.name)
        await conn.execute(zaps.insert().values(
            id=zid, workspace_id=workspace_id, name=zap.name, enabled=zap.enabled,
            current_version=1, trigger_kind=zap.trigger.kind, created_at=now, updated_at=now))
        await conn.execute(zap_versions.insert().values(
            zap_id=zid, version=1, workspace_id=workspace_id, definition=_definition(zap),
            created_at=now, created_by=user_id))
        await trigger_rows.sync_trigger(conn, workspace_id=workspace_id, zap_id=zid, zap=zap,
                                        registry=hub.registry,
                                        max_body=hub.settings.hook_max_body_limit)
        await check_zap(conn, workspace_id=workspace_id, zap=(zid, zap.name),
                        definition=_definition(zap), role=role)
        out = _summary(await _live(conn, workspace_id, zid))
        await _audit(conn, workspace_id, "zap.created", zid, name=zap.name, version=1,
                     enabled=zap.enabled)
    _changed(hub, zid)
    return out


async def update_zap(hub: Hub, *, workspace_id: str, zap_id: str, document: dict[str, Any],
                     user_id: str | None = None, role: str | None = None) -> dict[str, Any]:
    """Validate and store a new immutable version; queued runs keep their pinned version."""
    zap = compile_zap(document, hub.registry).zap
    now = time.time()
    async with hub.db.write() as conn:
        row = await _live(conn, workspace_id, zap_id)
        await _name_free(conn, workspace_id, zap.name, but=zap_id)
        version = row.current_version + 1
        values: dict[str, Any] = {"name": zap.name, "current_version": version,
                                  "trigger_kind": zap.trigger.kind, "updated_at": now}
        if "enabled" in zap.model_fields_set:
            values["enabled"] = zap.enabled
        await conn.execute(zap_versions.insert().values(
            zap_id=zap_id, version=version, workspace_id=workspace_id,
            definition=_definition(zap), created_at=now, created_by=user_id))
        await conn.execute(zaps.update().where(zaps.c.id == zap_id).values(**values))
        await trigger_rows.sync_trigger(conn, workspace_id=workspace_id, zap_id=zap_id, zap=zap,
                                        registry=hub.registry,
                                        max_body=hub.settings.hook_max_body_limit)
        await check_zap(conn, workspace_id=workspace_id, zap=(zap_id, zap.name),
                        definition=_definition(zap), role=role)
        out = _summary(await _live(conn, workspace_id, zap_id))
        await _audit(conn, workspace_id, "zap.updated", zap_id, name=zap.name,
                     version=version, enabled=out["enabled"])
    _changed(hub, zap_id)
    return out


async def import_zap(hub: Hub, *, workspace_id: str, document: dict[str, Any],
                     user_id: str | None = None) -> tuple[dict[str, Any], bool]:
    """Create the zap, or add a version to the live zap of the same name. Returns (zap, created)."""
    name = document.get("name")
    found = None
    if isinstance(name, str):
        async with hub.db.read() as conn:
            found = (await conn.execute(sa.select(zaps.c.id).where(
                zaps.c.workspace_id == workspace_id, zaps.c.name == name,
                zaps.c.deleted_at.is_(None)))).first()
    if found is None:
        return await create_zap(hub, workspace_id=workspace_id, document=document,
                                user_id=user_id), True
    return await update_zap(hub, workspace_id=workspace_id, zap_id=found.id, document=document,
                            user_id=user_id), False


async def resolve(hub: Hub, *, workspace_id: str, ref: str) -> str:
    """A zap id from an id or a name."""
    column = zaps.c.id if looks_like_id(ref, "zap") else zaps.c.name
    async with hub.db.read() as conn:
        row = (await conn.execute(sa.select(zaps.c.id).where(
            column == ref, zaps.c.workspace_id == workspace_id,
            zaps.c.deleted_at.is_(None)))).first()
    if row is None:
        raise NotFound(f"no zap '{ref}'", code="zap_not_found")
    return row.id


async def get_zap(hub: Hub, *, workspace_id: str, zap_id: str) -> dict[str, Any]:
    """The zap with its current definition."""
    async with hub.db.read() as conn:
        row = await _live(conn, workspace_id, zap_id)
        definition = await _version_definition(conn, zap_id, row.current_version)
        hook = await trigger_rows.hook_of(conn, zap_id)
    out = {**_summary(row), "definition": {**definition, "enabled": row.enabled}}
    if hook:
        out["webhook"] = {"hook_id": hook, "path": f"/hooks/{hook}"}
    return out


async def _version_definition(conn: Any, zap_id: str, version: int) -> dict[str, Any]:
    row = (await conn.execute(sa.select(zap_versions.c.definition).where(
        zap_versions.c.zap_id == zap_id, zap_versions.c.version == version))).first()
    if row is None:
        raise NotFound(f"zap '{zap_id}' has no version {version}", code="zap_version_not_found")
    return dict(row.definition)


async def list_zaps(hub: Hub, *, workspace_id: str) -> list[dict[str, Any]]:
    async with hub.db.read() as conn:
        rows = await conn.execute(sa.select(zaps).where(
            zaps.c.workspace_id == workspace_id, zaps.c.deleted_at.is_(None)).order_by(zaps.c.id))
        return [_summary(r) for r in rows]


async def list_versions(hub: Hub, *, workspace_id: str, zap_id: str) -> list[dict[str, Any]]:
    async with hub.db.read() as conn:
        await _live(conn, workspace_id, zap_id)
        rows = await conn.execute(sa.select(
            zap_versions.c.version, zap_versions.c.created_at, zap_versions.c.created_by,
        ).where(zap_versions.c.zap_id == zap_id).order_by(zap_versions.c.version.desc()))
        return [dict(r._mapping) for r in rows]


async def get_version(hub: Hub, *, workspace_id: str, zap_id: str,
                      version: int) -> dict[str, Any]:
    async with hub.db.read() as conn:
        await _live(conn, workspace_id, zap_id)
        return {"version": version,
                "definition": await _version_definition(conn, zap_id, version)}


async def set_enabled(hub: Hub, *, workspace_id: str, zap_id: str,
                      enabled: bool) -> dict[str, Any]:
    async with hub.db.write() as conn:
        await _live(conn, workspace_id, zap_id)
        await conn.execute(zaps.update().where(zaps.c.id == zap_id).values(
            enabled=enabled, updated_at=time.time()))
        out = _summary(await _live(conn, workspace_id, zap_id))
        await _audit(conn, workspace_id, "zap.enabled" if enabled else "zap.disabled", zap_id,
                     name=out["name"])
    _changed(hub, zap_id)
    return out


async def delete_zap(hub: Hub, *, workspace_id: str, zap_id: str) -> None:
    """Soft-delete: history stays, the name is free again, queued runs are cancelled."""
    now = time.time()
    async with hub.db.write() as conn:
        await _live(conn, workspace_id, zap_id)
        await conn.execute(zaps.update().where(zaps.c.id == zap_id).values(
            deleted_at=now, enabled=False, updated_at=now))
        await conn.execute(runs.update().where(
            runs.c.zap_id == zap_id, runs.c.status.in_(("queued", "waiting"))).values(
            status="cancelled", finished_at=now, due_at=now))
        await conn.execute(runs.update().where(
            runs.c.zap_id == zap_id, runs.c.status == "running").values(cancel_requested=True))
        await trigger_rows.drop_trigger(conn, zap_id=zap_id)
        await _audit(conn, workspace_id, "zap.deleted", zap_id)
    _changed(hub, zap_id)


async def export_zap(hub: Hub, *, workspace_id: str, zap_id: str, fmt: str = "yaml") -> str:
    """The zap's current definition as a YAML or JSON document that imports back."""
    zap = await get_zap(hub, workspace_id=workspace_id, zap_id=zap_id)
    doc = Zap.model_validate(zap["definition"]).model_dump(mode="json", exclude_defaults=True)
    doc = {"name": doc.pop("name"), **doc}
    return dump_document(doc, "json" if fmt == "json" else "yaml")
