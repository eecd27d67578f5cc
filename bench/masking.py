"""Masking a workspace's secrets in run data: cost by number of secrets and size of the run.

    taskset -c 0 python bench/masking.py [--rounds 5]

Builds a run detail of 100 steps (about 10 KB or 100 KB of text each) and masks it with 10 to
10,000 random secret values, some of which occur in it. Prints the time to build the masker
and the best time to mask the detail (``--rounds`` runs each); masking should not grow with
the number of secrets.
"""

from __future__ import annotations

import argparse
import random
import string
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub.vault.masking import Masker  # noqa: E402


def _word(rnd: random.Random, n: int) -> str:
    return "".join(rnd.choice(string.ascii_letters + string.digits) for _ in range(n))


def _detail(rnd: random.Random, words: int, secrets: list[str]) -> dict[str, Any]:
    steps = []
    for i in range(100):
        text = [_word(rnd, 8) for _ in range(words)]
        text[words // 2] = secrets[i % len(secrets)]
        steps.append({"output": {"text": " ".join(text), "n": i}})
    return {"trigger": {"token": secrets[0]}, "steps": steps}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    rnd = random.Random(7)
    print(f"{'secrets':>8} {'detail':>8} {'build ms':>9} {'mask ms':>8}")
    for words in (1_100, 11_000):
        for count in (10, 100, 1_000, 10_000):
            secrets = [_word(rnd, 24) for _ in range(count)]
            detail = _detail(rnd, words, secrets)
            size = sum(len(s["output"]["text"]) for s in detail["steps"])
            start = time.perf_counter()
            masker = Masker.of(secrets)
            build = time.perf_counter() - start
            best = float("inf")
            for _ in range(args.rounds):
                start = time.perf_counter()
                masker.mask(detail)
                best = min(best, time.perf_counter() - start)
            print(f"{count:>8} {size / 1e6:>6.1f}MB {build * 1e3:>9.1f} {best * 1e3:>8.1f}")


if __name__ == "__main__":
    main()
