"""Helpers shared by the built-in guardrails: config coercion and verdict building."""

from __future__ import annotations

from collections import Counter
from typing import Any, TypeVar

from pydantic import BaseModel

from hub import Span, Verdict
from hub.guard import as_text

M = TypeVar("M", bound=BaseModel)

__all__ = ["as_text", "block_verdict", "config_of", "drop_contained", "redact_verdict"]


def config_of(model: type[M], config: Any) -> M:
    """``config`` as an instance of ``model`` (``None`` gives the defaults)."""
    if isinstance(config, model):
        return config
    if config is None:
        return model()
    if isinstance(config, BaseModel):
        config = config.model_dump()
    return model.model_validate(config)


def _count_reason(spans: list[Span], what: str) -> list[str]:
    counts = Counter(s.category for s in spans)
    found = ", ".join(f"{n} {cat}" for cat, n in sorted(counts.items()))
    return [f"found {what}: {found}"]


def redact_verdict(spans: list[Span], broad: str, what: str) -> Verdict:
    """A ``redact`` verdict for ``spans`` (``pass`` when there are none)."""
    if not spans:
        return Verdict()
    spans.sort(key=lambda s: (s.start, -s.end))
    cats = [broad, *sorted({s.category for s in spans})]
    return Verdict(outcome="redact", categories=cats, reasons=_count_reason(spans, what),
                   spans=spans)


def block_verdict(categories: list[str], reasons: list[str],
                  spans: list[Span] | None = None) -> Verdict:
    """A ``block`` verdict; categories keep their order without duplicates."""
    return Verdict(outcome="block", categories=list(dict.fromkeys(categories)),
                   reasons=reasons, spans=spans or [])


def drop_contained(spans: list[Span]) -> list[Span]:
    """Spans in order, without those lying inside another (an IBAN's digits read as a card)."""
    spans.sort(key=lambda s: (s.start, -s.end))
    out: list[Span] = []
    for span in spans:
        if not out or span.end > out[-1].end:
            out.append(span)
    return out
