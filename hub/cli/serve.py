"""`hub serve` (API + in-process worker) and `hub worker` (a worker alone)."""

from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING

import typer

from hub.cli.plugin import load_plugins
from hub.logs import setup_logging

if TYPE_CHECKING:  # loaded by the commands that need them: `--help` stays fast
    from hub.settings import Settings


def load_settings(**overrides: object) -> Settings:
    """Settings from ``HUB_*`` and the given flags; a bad value exits 2 with one line."""
    from pydantic import ValidationError

    from hub.settings import Settings

    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        for err in exc.errors(include_url=False, include_input=False):
            name = "HUB_" + str(err["loc"][0]).upper() if err["loc"] else "settings"
            typer.echo(f"error[invalid_settings]: {name}: {err['msg']}", err=True)
        raise typer.Exit(2) from None


def serve(host: str | None = typer.Option(None, help="Bind address (HUB_HOST)."),
          port: int | None = typer.Option(None, help="Port (HUB_PORT)."),
          worker: bool | None = typer.Option(
              None, "--worker/--no-worker",
              help="Run an in-process worker (default: HUB_RUN_WORKER, true).")) -> None:
    """Start the hub: API, webhooks and a worker, on SQLite under ./hub-data by default."""
    import gc

    gc.disable()  # start-up creates long-lived objects only; serving_gc turns it back on
    try:
        _serve({"host": host, "port": port, "run_worker": worker})
    finally:
        gc.enable()


def _serve(given: dict[str, object]) -> None:
    from hub.web.app import create_app
    from hub.web.lifecycle import run_server
    from hub.web.protocol import http_protocol

    # A flag wins only when given; otherwise the HUB_* setting (or its default) applies.
    overrides = {name: value for name, value in given.items() if value is not None}
    settings = load_settings(**overrides)
    setup_logging(settings.log_level, settings.log_format)
    app = create_app(settings, pm=load_plugins(settings))  # a refusal exits in one line
    run_server(app, settings, http=http_protocol(settings.header_timeout) or "auto")


def worker() -> None:
    """Run a worker alone against the configured database (several may run at once).

    It also fires schedules and polls (each fire once across nodes) unless
    ``HUB_RUN_SCHEDULER=false``.
    """
    from hub.context import Hub
    from hub.engine.worker import Worker
    from hub.scheduler import start_scheduler

    settings = load_settings()
    setup_logging(settings.log_level, settings.log_format)
    pm = load_plugins(settings)

    async def main() -> None:
        hub = await Hub.open(settings, pm=pm)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await hub.listen()  # wake-ups from other nodes (PostgreSQL)
        hub.worker = Worker(hub)
        hub.worker.start()
        scheduler = await start_scheduler(hub) if settings.run_scheduler else None
        hub.log.info("worker %s started", hub.worker.owner)
        try:
            await stop.wait()
        finally:
            if scheduler is not None:
                await scheduler.stop()
            await hub.close()

    asyncio.run(main())
