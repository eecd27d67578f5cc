"""An in-process API client fixture: the real app and lifespan over ASGI."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from hub.settings import Settings
from hub.testing.people import owner_token
from hub.web.app import create_app


@dataclass
class Api:
    app: FastAPI
    client: httpx.AsyncClient
    token: str

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}

    async def get(self, url: str, token: str | None = None, **kw) -> httpx.Response:  # type: ignore[no-untyped-def]
        return await self.client.get(url, headers=self.auth(token), **kw)

    async def post(self, url: str, token: str | None = None, **kw) -> httpx.Response:  # type: ignore[no-untyped-def]
        return await self.client.post(url, headers={**self.auth(token), **kw.pop("headers", {})},
                                      **kw)

    async def put(self, url: str, token: str | None = None, **kw) -> httpx.Response:  # type: ignore[no-untyped-def]
        return await self.client.put(url, headers={**self.auth(token), **kw.pop("headers", {})},
                                     **kw)

    async def delete(self, url: str, token: str | None = None) -> httpx.Response:
        return await self.client.delete(url, headers=self.auth(token))


@pytest.fixture
async def api(settings: Settings) -> AsyncIterator[Api]:
    settings = settings.model_copy(update={"poll_interval": 0.05})
    app = create_app(settings, on_setup_token=lambda tok, _s: None)
    async with app.router.lifespan_context(app):
        token = await owner_token(app.state.hub)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield Api(app, client, token)
