"""Pure helpers around guardrail verdicts: placeholder redaction and text extraction.

``apply_redactions`` turns a guardrail's spans into ``[EMAIL_1]``-style placeholders. It is the
one function that rewrites checked text, so the policy runner and the tests agree on the format.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from hub.sdk import Span

_LABEL_RE = re.compile(r"[^A-Z0-9_]+")


def placeholder_label(label: str) -> str:
    """The placeholder name for ``label``: upper case letters, digits and underscores."""
    cleaned = _LABEL_RE.sub("_", str(label).upper()).strip("_")
    return cleaned or "REDACTED"


def merge_spans(spans: Iterable[Span], length: int) -> list[Span]:
    """Spans sorted by position, clamped to ``length``, without overlaps.

    Where spans overlap, the one starting first wins (the longer one on a tie); the loser's
    region is already covered, so nothing of it is left in clear.
    """
    ordered = sorted(spans, key=lambda s: (s.start, -s.end))
    out: list[Span] = []
    for span in ordered:
        start, end = min(span.start, length), min(span.end, length)
        if end <= start:
            continue
        if out and start < out[-1].end:
            if end > out[-1].end:
                last = out[-1]
                out[-1] = Span(start=last.start, end=end, category=last.category,
                               label=last.label)
            continue
        out.append(span if (start, end) == (span.start, span.end)
                   else Span(start=start, end=end, category=span.category, label=span.label))
    return out


def apply_redactions(text: str, spans: Iterable[Span]) -> tuple[str, dict[str, int]]:
    """Replace every span of ``text`` by a numbered placeholder such as ``[EMAIL_1]``.

    Numbering is per label in order of first appearance; the same value under the same label
    always gets the same placeholder, so ``a@x.io ... a@x.io`` becomes ``[EMAIL_1] ... [EMAIL_1]``.
    Overlapping spans are merged (see ``merge_spans``).

    Returns:
        The redacted text and, per placeholder label, how many occurrences were replaced.
    """
    numbers: dict[tuple[str, str], int] = {}
    per_label: dict[str, int] = {}
    counts: dict[str, int] = {}
    parts: list[str] = []
    pos = 0
    for span in merge_spans(spans, len(text)):
        label = placeholder_label(span.label)
        value = text[span.start:span.end]
        number = numbers.get((label, value))
        if number is None:
            number = numbers[(label, value)] = per_label.get(label, 0) + 1
            per_label[label] = number
        counts[label] = counts.get(label, 0) + 1
        parts.append(text[pos:span.start])
        parts.append(f"[{label}_{number}]")
        pos = span.end
    parts.append(text[pos:])
    return "".join(parts), counts


def as_text(value: Any) -> str:
    """The text a guardrail checks for ``value``: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
