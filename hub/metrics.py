"""Prometheus metrics, one registry per hub (so several hubs can live in one process)."""

from __future__ import annotations

import os
import socket

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from hub import __version__

RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "filtered", "cancelled",
                "rejected")


def default_node() -> str:
    """This process's node name: host name and process id."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}"


class Metrics:
    """The hub's metrics. ``hub_runs`` and ``hub_queue_depth`` are read from the database
    (the same on every node); the others count this process's work. Per-node series carry a
    ``node`` label, and ``hub_node_info{node,version}`` names the node every scrape comes
    from, for joins on the scrape's ``instance``."""

    def __init__(self, node: str | None = None) -> None:
        self.node = node or default_node()
        self.registry = CollectorRegistry()
        Gauge("hub_node_info", "This node (value 1)", ["node", "version"],
              registry=self.registry).labels(node=self.node, version=__version__).set(1)
        self.claim_duration = Histogram(
            "hub_claim_duration_seconds", "One claim of due runs (a database round trip)",
            ["node"], buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
            registry=self.registry).labels(node=self.node)
        self.claimed = Counter("hub_runs_claimed", "Runs claimed by this node", ["node"],
                               registry=self.registry).labels(node=self.node)
        self.runs = Gauge("hub_runs", "Runs in the database by status", ["status"],
                          registry=self.registry)
        self.queue_depth = Gauge("hub_queue_depth", "Runs queued and due now",
                                 registry=self.registry)
        self.runs_finished = Counter("hub_runs_finished", "Runs finished by this process",
                                     ["status"], registry=self.registry)
        self.step_duration = Histogram(
            "hub_step_duration_seconds", "Step attempt duration", ["action", "status"],
            buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 120), registry=self.registry)
        self.http_errors = Counter("hub_http_errors", "API errors by code", ["code"],
                                   registry=self.registry)

    def observe_claim(self, seconds: float, claimed: int) -> None:
        self.claim_duration.observe(seconds)
        if claimed:
            self.claimed.inc(claimed)

    def render(self, counts: dict[str, int], queue_depth: int) -> bytes:
        for status in RUN_STATUSES:
            self.runs.labels(status=status).set(counts.get(status, 0))
        self.queue_depth.set(queue_depth)
        return generate_latest(self.registry)
