"""Test plugin for the AI governance tests: guardrails that misbehave, so the engine's
fail-closed handling can be seen (a guardrail that raises, one whose spans lie outside the
text, one that answers something other than a ``Verdict``)."""

from __future__ import annotations

from typing import Any

from hub import Guardrail, Span, Verdict, hookimpl


class Raising(Guardrail):
    key = "raising_guard"
    title = "Raises on every check"

    async def check(self, text: str, *, config: Any, stage: str) -> Verdict:
        raise RuntimeError("detector crashed")


class BadSpans(Guardrail):
    key = "bad_spans_guard"
    title = "Redacts a span past the end of the text"

    async def check(self, text: str, *, config: Any, stage: str) -> Verdict:
        return Verdict(outcome="redact", categories=["x"],
                       spans=[Span(start=0, end=len(text) + 10, category="x", label="X")])


class NotAVerdict(Guardrail):
    key = "not_a_verdict_guard"
    title = "Answers a plain dict"

    async def check(self, text: str, *, config: Any, stage: str) -> Verdict:
        return {"outcome": "pass"}  # type: ignore[return-value]


@hookimpl
def register_guardrails(register) -> None:  # type: ignore[no-untyped-def]
    for cls in (Raising, BadSpans, NotAVerdict):
        register(cls)
