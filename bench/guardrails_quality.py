"""Precision and recall of the built-in guardrails on the corpus in tests/data/guardrails/.

    python bench/guardrails_quality.py

Each corpus file ``<guardrail key>.jsonl`` holds one example per line: ``{"text": ...,
"expect": [...]}`` where ``expect`` lists the categories that must be found (personal data and
secrets: span categories such as ``email``; the other guardrails: ``["block"]``) and is empty
for a negative example. An optional ``"config"`` gives the guardrail's configuration for that
line, and a line ``{"config": ...}`` without text sets the default for the lines after it.
Prints, per guardrail, a row per category and a total row.
"""

from __future__ import annotations

import asyncio
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hub_plugins.guardrails import GUARDRAILS  # noqa: E402

from hub import Guardrail  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "guardrails"


@dataclass
class Score:
    """Counts for one category: true positives, false positives, false negatives."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def load(key: str) -> list[dict[str, Any]]:
    """The examples of ``<key>.jsonl``, each with its effective ``config``."""
    examples: list[dict[str, Any]] = []
    config: dict[str, Any] = {}
    for line in (CORPUS / f"{key}.jsonl").read_text().splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        if "text" not in row:
            config = row["config"]
            continue
        examples.append({"config": config, **row})
    return examples


def found_categories(guardrail: Guardrail, verdict: Any) -> set[str]:
    """What a verdict reports, in the corpus's terms."""
    if verdict.outcome == "block":
        return {"block"}
    return {span.category for span in verdict.spans}


async def evaluate(key: str) -> tuple[dict[str, Score], list[tuple[str, set[str], set[str]]]]:
    """Scores per category (and ``total``) for guardrail ``key``, plus the misclassified lines."""
    guardrail = next(cls for cls in GUARDRAILS if cls.key == key)()
    stage = "input" if "input" in guardrail.stages else "output"
    scores: dict[str, Score] = {"total": Score()}
    misses: list[tuple[str, set[str], set[str]]] = []
    for ex in load(key):
        config = guardrail.Config.model_validate(ex["config"])
        verdict = await guardrail.check(ex["text"], config=config, stage=stage)
        want, got = set(ex["expect"]), found_categories(guardrail, verdict)
        for cat in want | got:
            score = scores.setdefault(cat, Score())
            if cat in want and cat in got:
                score.tp += 1
            elif cat in got:
                score.fp += 1
            else:
                score.fn += 1
        total = scores["total"]
        total.tp += len(want & got)
        total.fp += len(got - want)
        total.fn += len(want - got)
        if want != got:
            misses.append((ex["text"], want, got))
    return scores, misses


def keys() -> list[str]:
    """Guardrails that have a corpus file."""
    return [cls.key for cls in GUARDRAILS if (CORPUS / f"{cls.key}.jsonl").exists()]


def main() -> int:
    show_misses = "--misses" in sys.argv
    for key in keys():
        examples = load(key)
        pos = sum(1 for ex in examples if ex["expect"])
        scores, misses = asyncio.run(evaluate(key))
        print(f"\n{key}: {pos} positive, {len(examples) - pos} negative examples")
        print(f"  {'category':<24}{'TP':>5}{'FP':>5}{'FN':>5}{'precision':>11}{'recall':>8}")
        for cat in sorted(scores, key=lambda c: (c == "total", c)):
            s = scores[cat]
            print(f"  {cat:<24}{s.tp:>5}{s.fp:>5}{s.fn:>5}{s.precision:>11.3f}{s.recall:>8.3f}")
        if show_misses:
            for text, want, got in misses:
                print(f"    MISS want={sorted(want)} got={sorted(got)}: {text[:90]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
