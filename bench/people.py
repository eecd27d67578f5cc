"""Signing in and authenticating: the cost of passwords, sessions and tokens.

    taskset -c 0 python bench/people.py [--requests 500]

On a fresh SQLite database, in process (the app over ASGI, no sockets): prints the time of one
argon2id hash, sign-ins per second (each verifies a password), and authenticated
``GET /api/v1/me`` requests per second with a bearer token and with a session cookie (the
token's ``last_used_at`` is written at most hourly, so the figure is reads only).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.services import invites  # noqa: E402
from hub.services.identity import Principal, authenticate  # noqa: E402
from hub.services.passwords import hash_password  # noqa: E402
from hub.settings import Settings  # noqa: E402
from hub.testing.people import owner_token  # noqa: E402
from hub.web.app import create_app  # noqa: E402

PASSWORD = "a benchmark password"


async def _rate(n: int, call) -> float:  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    for _ in range(n):
        r = await call()
        assert r.status_code == 200, r.text
    return n / (time.perf_counter() - started)


async def main(requests: int) -> None:
    started = time.perf_counter()
    for _ in range(5):
        await hash_password(PASSWORD)
    print(f"argon2id hash: {(time.perf_counter() - started) / 5 * 1000:.1f} ms")
    data = Path(tempfile.mkdtemp(prefix="bench-people-"))
    app = create_app(Settings(data_dir=data, run_worker=False, run_scheduler=False),
                     on_setup_token=lambda *_: None)
    async with app.router.lifespan_context(app):
        hub = app.state.hub
        token = await owner_token(hub)
        owner = await authenticate(hub, token)
        link = await invites.invite(hub, actor=Principal(owner.workspace_id, owner.user_id,
                                                         "owner"), email="b@x.io", role="viewer")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                     base_url="http://hub.test") as c:
            r = await c.post("/api/v1/invitations/accept", json={"token": link["token"],
                                                                 "password": PASSWORD})
            assert r.status_code == 200, r.text
            body = {"email": "b@x.io", "password": PASSWORD}
            logins = await _rate(max(requests // 25, 5),
                                 lambda: c.post("/api/v1/auth/login", json=body))
            bearer = await _rate(requests, lambda: c.get(
                "/api/v1/me", headers={"Authorization": f"Bearer {token}"}))
            session = await _rate(requests, lambda: c.get("/api/v1/me"))
    print(f"sign-ins: {logins:.1f}/s")
    print(f"GET /api/v1/me with a bearer token: {bearer:.0f}/s")
    print(f"GET /api/v1/me with a session cookie: {session:.0f}/s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=500)
    asyncio.run(main(parser.parse_args().requests))
