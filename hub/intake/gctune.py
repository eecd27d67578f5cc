"""Garbage-collector settings for a serving process.

A full collection walks every tracked object, and a running hub holds hundreds of thousands of
long-lived ones (modules, models, compiled SQL); under webhook load those pauses showed up as
the p99 latency (bench/intake.py). After startup the long-lived objects are frozen out of the
collector's sight and young generations are collected less often; both are undone on shutdown
so the frozen objects can be freed.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

SERVING_THRESHOLDS = (20_000, 50, 1000)


@contextmanager
def serving_gc() -> Iterator[None]:
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*SERVING_THRESHOLDS)
    gc.enable()  # `hub serve` starts with the collector off (its start allocates only)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
