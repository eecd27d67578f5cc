"""``create_app(settings)``: the FastAPI app. Its lifespan opens the hub (plugins, registry,
database, HTTP client), creates the first workspace on an empty database, and runs the
in-process worker."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pluggy
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub import __version__, ui
from hub.context import Hub
from hub.engine.worker import Worker
from hub.errors import HubError
from hub.intake.gctune import serving_gc
from hub.scheduler import start_scheduler
from hub.services.identity import bootstrap
from hub.services.retention import start_pruning
from hub.settings import Settings
from hub.web import problems
from hub.web.apiguard import ApiGuard
from hub.web.openapi import add_problems
from hub.web.routers import ai, audit, catalog, connections, hooks, identity, oauth, ops, runs, zaps
from hub.web.routers import approvals as approval_routes
from hub.web.routers import auth as auth_routes
from hub.web.routers import lineage as lineage_routes
from hub.web.routers import members as member_routes
from hub.web.routers import policies as policy_routes
from hub.web.routers import tables as data_tables
from hub.zaps import Zap


def print_setup_token(token: str, settings: Settings) -> None:
    """Show the single-use setup link on the console (never through the logger)."""
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    print(  # noqa: T201 - deliberate console output, shown once
        "\nzaphub: created workspace 'Default' with its owner (no password yet).\n"
        "Open this single-use link within 24 hours to choose the owner's e-mail and "
        f"password:\n\n    {base}/setup?token={token}\n\n"
        f"or: curl -X POST {base}/api/v1/setup -H 'Content-Type: application/json' -d "
        f"'{{\"token\": \"{token}\", \"email\": \"you@example.com\", "
        "\"password\": \"...\"}'\n"
        "(lost it? `hub tokens create` gives the operator an owner token)\n",
        file=sys.stderr, flush=True)


class StartupRefusal:
    """ASGI middleware: when the hub refuses to start with a stable code (``missing_key``,
    ``bad_master_key`` ...), print ``error[code]: message`` once instead of letting the
    server log the lifespan's traceback; the server then exits non-zero as for any failed
    start-up. Other lifespan errors keep their traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def hold_failure(message: Message) -> None:
            if message["type"] == "lifespan.startup.failed":
                held.append(message)  # sent below, once the error is known
            else:
                await send(message)

        try:
            await self.app(scope, receive, hold_failure)
        except HubError as exc:
            if not held:
                raise
            print(f"error[{exc.code}]: {exc.message}", file=sys.stderr,  # noqa: T201
                  flush=True)
            await send({"type": "lifespan.startup.failed", "message": ""})
        except BaseException:
            for message in held:
                await send(message)
            raise


def create_app(settings: Settings | None = None, *,
               on_setup_token: Callable[[str, Settings], None] | None = None,
               pm: pluggy.PluginManager | None = None) -> FastAPI:
    """Build the app; nothing is opened until the lifespan starts. ``pm``: a plugin manager
    to use instead of the default one (e.g. with extra plugins registered)."""
    settings = settings or Settings()
    announce = on_setup_token or print_setup_token

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        hub = await Hub.open(settings, pm=pm)
        app.state.hub = hub
        try:
            token = await bootstrap(hub)
            if token:
                announce(token, settings)
            await hub.listen()  # wake-ups from other nodes (PostgreSQL)
            if settings.run_worker:
                hub.worker = Worker(hub)
                hub.worker.start()
            if settings.run_scheduler:
                app.state.scheduler = await start_scheduler(hub)
                app.state.pruning = start_pruning(hub.db, settings)  # HUB_RUN_RETENTION_*
            if getattr(app.state, "readiness", None) != "draining":  # no stop signal yet
                app.state.readiness = "ready"  # /readyz answers 200 from now on
            with serving_gc():  # fewer, shorter collector pauses while serving
                yield
        finally:
            if getattr(app.state, "pruning", None) is not None:
                app.state.pruning.cancel()
            if getattr(app.state, "scheduler", None) is not None:
                await app.state.scheduler.stop()
            await hub.close()

    app = FastAPI(title="zaphub", version=__version__, lifespan=lifespan,
                  description="AI orchestration hub: zaps, runs, plugins.",
                  docs_url=None, redoc_url=None)  # served offline by hub.ui
    problems.install(app)
    app.add_middleware(StartupRefusal)  # inside the hook shortcut: not on its hot path
    app.add_middleware(hooks.HookShortcut)  # /hooks/{id}: a lean ASGI path
    app.add_middleware(ApiGuard)  # /api/v1: token first, then a capped, timed body
    for module in (zaps, runs, identity, ops, catalog, connections, oauth, ai, audit, hooks):
        app.include_router(module.router)
    app.include_router(connections.vault_router)
    app.include_router(approval_routes.router)
    app.include_router(approval_routes.link_router)
    app.include_router(lineage_routes.router)
    app.include_router(data_tables.router)
    app.include_router(auth_routes.router)
    app.include_router(member_routes.router)
    app.include_router(policy_routes.router)
    ui.install(app)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    if app.openapi_schema is None:
        schema = get_openapi(title=app.title, version=app.version,
                             description=app.description, routes=app.routes)
        zap = Zap.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(zap.pop("$defs", {}))
        components["Zap"] = zap
        add_problems(schema, app.routes)
        app.openapi_schema = schema
    return app.openapi_schema
