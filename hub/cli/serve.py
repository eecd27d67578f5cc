"""`hub serve` (API + in-process worker) and `hub worker` (a worker alone)."""

from __future__ import annotations

import asyncio
import signal

import typer

from hub.cli.plugin import load_plugins
from hub.logs import setup_logging
from hub.settings import Settings


def serve(host: str | None = typer.Option(None, help="Bind address (HUB_HOST)."),
          port: int | None = typer.Option(None, help="Port (HUB_PORT)."),
          worker: bool = typer.Option(True, "--worker/--no-worker",
                                      help="Run an in-process worker (HUB_RUN_WORKER).")) -> None:
    """Start the hub: API, webhooks and a worker, on SQLite under ./hub-data by default."""
    import uvicorn

    from hub.web.app import create_app
    from hub.web.protocol import http_protocol

    overrides: dict[str, object] = {"run_worker": worker}
    if host:
        overrides["host"] = host
    if port:
        overrides["port"] = port
    settings = Settings(**overrides)  # type: ignore[arg-type]
    setup_logging(settings.log_level, settings.log_format)
    app = create_app(settings, pm=load_plugins(settings))  # a refusal exits in one line
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None,
                access_log=False, lifespan="on",
                http=http_protocol(settings.header_timeout) or "auto")


def worker() -> None:
    """Run a worker alone against the configured database (several may run at once)."""
    from hub.context import Hub
    from hub.engine.worker import Worker

    settings = Settings()
    setup_logging(settings.log_level, settings.log_format)
    pm = load_plugins(settings)

    async def main() -> None:
        hub = await Hub.open(settings, pm=pm)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        hub.worker = Worker(hub)
        hub.worker.start()
        hub.log.info("worker %s started", hub.worker.owner)
        try:
            await stop.wait()
        finally:
            await hub.close()

    asyncio.run(main())
