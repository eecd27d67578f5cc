"""Prometheus metrics, one registry per hub (so several hubs can live in one process)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "filtered", "cancelled",
                "rejected")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def render(self, counts: dict[str, int], queue_depth: int) -> bytes:
        for status in RUN_STATUSES:
            self.runs.labels(status=status).set(counts.get(status, 0))
        self.queue_depth.set(queue_depth)
        return generate_latest(self.registry)
