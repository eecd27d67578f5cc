"""Inline SVG bar charts (no script, no third-party code): bounded in size, labelled for
screen readers, escaped by the template engine."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BARS = 62
WIDTH, HEIGHT, GAP = 640, 180, 4


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not self.bars


def bars(points: list[tuple[str, float]], title: str) -> Chart:
    """A bar chart of ``points`` (label, value), the first ``MAX_BARS`` of them."""
    points = [(str(label)[:40], max(float(value or 0), 0.0)) for label, value in points]
    points = points[:MAX_BARS]
    top = max((v for _, v in points), default=0.0) or 1.0
    step = WIDTH / max(len(points), 1)
    plot = HEIGHT - 20  # room for the labels
    out = []
    for i, (label, value) in enumerate(points):
        h = plot * value / top
        out.append(Bar(label, value, i * step + GAP / 2, plot - h, max(step - GAP, 1), h))
    return Chart(title, out)
