"""Serving and stopping ``hub serve`` gracefully.

On SIGTERM (or a first Ctrl-C) the node drains: ``/readyz`` answers 503 at once so a load
balancer takes it out of rotation, the worker stops claiming runs, and requests are still
served for ``HUB_SHUTDOWN_DRAIN`` seconds. Then the server stops accepting, gives open
requests and in-flight steps ``HUB_SHUTDOWN_GRACE`` seconds (counted from the signal) and
hands the runs still going back to the queue, due at once, so another node resumes them
after their last committed step. A second signal stops without waiting for the drain.
"""

from __future__ import annotations

import time
from types import FrameType
from typing import Any

import uvicorn

from hub.settings import Settings

READY, STARTING, DRAINING = "ready", "starting", "draining"


def readiness(app: Any) -> str:
    """``ready``, ``starting`` or ``draining`` (kept on ``app.state``)."""
    return getattr(app.state, "readiness", STARTING)


def begin_drain(app: Any) -> None:
    """Mark the node as draining and stop its worker claiming (idempotent)."""
    app.state.readiness = DRAINING
    hub = getattr(app.state, "hub", None)
    if hub is not None and hub.worker is not None:
        hub.worker.drain()


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first stop signal drains before it stops accepting."""

    def __init__(self, config: uvicorn.Config, *, app: Any, drain: float) -> None:
        super().__init__(config)
        self.hub_app = app
        self.drain = drain
        self.drain_until: float | None = None
        self._drain_begun = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.hub_app.state.readiness = DRAINING  # a plain store: safe in a signal handler
        if self.drain <= 0 or self.drain_until is not None:
            super().handle_exit(sig, frame)  # no drain asked, or a second signal: stop now
            return
        self._captured_signals.append(sig)  # re-raised after the shutdown, as uvicorn does
        self.drain_until = time.monotonic() + self.drain

    async def on_tick(self, counter: int) -> bool:
        if not self._drain_begun and readiness(self.hub_app) == DRAINING:
            self._drain_begun = True
            begin_drain(self.hub_app)  # in the event loop, not in the signal handler
        if self.drain_until is not None and time.monotonic() >= self.drain_until:
            self.should_exit = True
        return await super().on_tick(counter)


def run_server(app: Any, settings: Settings, **options: Any) -> None:
    """Serve ``app`` until a stop signal, then drain and stop as described above."""
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None,
                            access_log=False, lifespan="on",
                            timeout_graceful_shutdown=max(settings.shutdown_grace, 0.1),
                            **options)
    DrainingServer(config, app=app, drain=settings.shutdown_drain).run()
