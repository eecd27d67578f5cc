"""Migration 0011: per-workspace users become global users with memberships; tokens live on."""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from hub.context import Hub
from hub.services import identity
from hub.settings import Settings
from hub.store.db import MIGRATIONS, Database
from hub.store.tables import memberships, users

OLD_USERS = [  # id, workspace, email, role (the same person twice, in other letter cases)
    ("usr_a", "ws_1", "Ann@X.io", "owner"),
    ("usr_b", "ws_2", "ann@x.io", "viewer"),
    ("usr_c", "ws_2", "bob@x.io", "editor"),
    ("usr_d", "ws_1", "deleted+usr_d@invalid", "viewer"),
]


def _upgrade(sync_conn: sa.Connection, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = sync_conn
    command.upgrade(cfg, revision)


async def _old_database(settings: Settings) -> dict[str, str]:
    """A database at 0009 (before 0011) with users of two workspaces and their tokens."""
    db = Database.from_settings(settings)
    tokens: dict[str, str] = {}
    try:
        async with db.writer.begin() as conn:
            for rev in ("0002", "0009"):
                await conn.run_sync(_upgrade, rev)
            now = time.time()
            for ws in ("ws_1", "ws_2"):
                await conn.execute(sa.text("INSERT INTO workspaces (id, name, created_at) "
                                           "VALUES (:id, :id, :now)"), {"id": ws, "now": now})
            for n, (uid, ws, email, role) in enumerate(OLD_USERS):
                await conn.execute(sa.text(
                    "INSERT INTO users (id, workspace_id, email, name, role, created_at) "
                    "VALUES (:id, :ws, :email, '', :role, :at)"),
                    {"id": uid, "ws": ws, "email": email, "role": role, "at": now + n})
                tokens[uid] = f"zh_old_token_of_{uid}_" + "x" * 20
                await conn.execute(sa.text(
                    "INSERT INTO api_tokens (id, workspace_id, user_id, name, token_hash, "
                    "prefix, created_at) VALUES (:id, :ws, :uid, 'old', :hash, 'zh_old', :at)"),
                    {"id": "tok_" + uid, "ws": ws, "uid": uid, "at": now,
                     "hash": identity.hash_token(tokens[uid])})
    finally:
        await db.close()
    return tokens


async def test_users_move_into_memberships(settings: Settings) -> None:
    tokens = await _old_database(settings)
    hub = await Hub.open(settings)  # migrates to the newest schema
    try:
        async with hub.db.read() as conn:
            people = {r.email: r.id for r in await conn.execute(sa.select(users))}
            member = {(r.workspace_id, r.user_id): r.role
                      for r in await conn.execute(sa.select(memberships))}
        assert set(people) == {"ann@x.io", "bob@x.io", "deleted+usr_d@invalid"}
        assert people["ann@x.io"] == "usr_a"  # the oldest row survives
        assert member == {("ws_1", "usr_a"): "owner", ("ws_2", "usr_a"): "viewer",
                          ("ws_2", "usr_c"): "editor"}
        ann_there = await identity.authenticate(hub, tokens["usr_b"])
        assert (ann_there.user_id, ann_there.workspace_id, ann_there.role) == (
            "usr_a", "ws_2", "viewer")
        ann_here = await identity.authenticate(hub, tokens["usr_a"])
        assert (ann_here.workspace_id, ann_here.role) == ("ws_1", "owner")
        assert (await identity.authenticate(hub, tokens["usr_c"])).role == "editor"
    finally:
        await hub.close()
