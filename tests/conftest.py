"""Shared fixtures: every database test runs on SQLite and, when configured, PostgreSQL."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from apiclient import Api, api  # noqa: F401 - fixtures shared by API tests
from sqlalchemy.ext.asyncio import create_async_engine

from hub.context import Hub
from hub.services import identity
from hub.settings import Settings
from hub.testing.people import owner_token

pytest_plugins = ["hub.testing"]

PG_ENV = "HUB_TEST_DATABASE_URL"
PG_SKIP = (f"PostgreSQL tests are off: set {PG_ENV}=postgresql+asyncpg://USER@HOST:5432/DB "
           "to run them (.ci/run sets it to the local server)")


@pytest.fixture(autouse=True)
def _clean_hub_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's HUB_* settings."""
    for name in list(os.environ):
        if name.startswith("HUB_") and name != PG_ENV:
            monkeypatch.delenv(name, raising=False)


async def _pg_schema(url: str, schema: str, create: bool) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            if create:
                await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def settings(request: pytest.FixtureRequest, tmp_path) -> AsyncIterator[Settings]:
    """Settings for a fresh, empty database of each backend."""
    if request.param == "sqlite":
        yield Settings(data_dir=tmp_path)
        return
    url = os.environ.get(PG_ENV)
    if not url:
        pytest.skip(PG_SKIP)
    schema = "t_" + secrets.token_hex(6)
    await _pg_schema(url, schema, create=True)
    try:
        yield Settings(data_dir=tmp_path, database_url=url, database_schema=schema)
    finally:
        await _pg_schema(url, schema, create=False)


@pytest.fixture
async def hub(settings: Settings) -> AsyncIterator[Hub]:
    h = await Hub.open(settings)
    try:
        yield h
    finally:
        await h.close()


@pytest.fixture
async def token(hub: Hub) -> str:
    """An API token of the first workspace's owner."""
    return await owner_token(hub)


@pytest.fixture
async def owner(hub: Hub, token: str) -> identity.Principal:
    return await identity.authenticate(hub, token)
