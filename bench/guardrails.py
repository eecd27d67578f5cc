"""Guardrail throughput: every built-in guardrail over 1 KB and 10 KB of mixed text.

    taskset -c 0 python bench/guardrails.py [--repeat 200] [--rounds 5]

The texts mix support-ticket prose, log lines, code and markdown with a few findings (an
email, a phone number, a card number, an IP address, a token, a URL). Prints ms per KB for
each guardrail and for the whole set (best round of ``--rounds``, each ``--repeat`` checks);
the target is <= 1 ms per KB for the whole set on one core.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hub_plugins.guardrails import GUARDRAILS  # noqa: E402

from hub import Guardrail  # noqa: E402

TARGET_MS_PER_KB = 1.0

PARAGRAPHS = [
    "Hi team, the customer says the invoice export fails since Tuesday. They tried again "
    "this morning and got a timeout after about thirty seconds. Could you take a look? ",
    "2026-03-02T10:15:22Z INFO worker-3 job=export-7731 status=retry attempt=2 took=1532ms "
    "queue=default region=eu-west-1 build 4.12.0.3\n",
    "```python\ndef total(items: list[Item]) -> Decimal:\n    return sum(i.price * i.qty "
    "for i in items)  # rounding happens at checkout\n```\n",
    "## Next steps\n\n- Reproduce on staging with the same account.\n- Check the retry "
    "policy and the 30 s gateway limit.\n- Reply to the customer by Friday.\n\n",
    "The meeting moved to 14:30; bring the Q3 numbers (revenue up 12.5%, churn 3.1%) and "
    "the draft of the onboarding guide. Version 2.4.1 ships next week. ",
    "Thanks for your patience! Our docs cover this in detail: see the guide at "
    "https://docs.example.com/guides/export and let us know if anything is unclear. ",
]
FINDINGS = [
    "Contact: maria.lopez@example.org. ", "Call me on +44 20 7946 0958. ",
    "Card on file 4111 1111 1111 1111. ", "Client IP 203.0.113.42. ",
    "token ghp_R2d2C3poL8k9Mn4Pq7Xs1Vb6Yt0Zw5Ha3Jd8 ", "See https://evil.example.net/x?q=1 ",
]
CONFIGS: dict[str, dict[str, Any]] = {
    "json_schema": {"json_schema": {"type": "object", "required": ["answer"]}},
    "blocklist": {"terms": ["project falcon", "weapons", "insider trading", "layoffs"]},
    "url_allowlist": {"allowed_hosts": ["docs.example.com", "*.example.org"]},
    "max_length": {"max_chars": 50000},
}


def make_text(size: int, seed: int) -> str:
    """About ``size`` characters of mixed text with a finding every ~700 characters."""
    rng = random.Random(seed)
    parts: list[str] = []
    length = 0
    while length < size:
        chunk = rng.choice(PARAGRAPHS)
        if rng.random() < 0.25:
            chunk += rng.choice(FINDINGS)
        parts.append(chunk)
        length += len(chunk)
    return "".join(parts)[:size]


def measure(guardrail: Guardrail, text: str, repeat: int, rounds: int) -> float:
    """Best-of-rounds milliseconds per check."""
    config = guardrail.Config.model_validate(CONFIGS.get(guardrail.key, {}))
    stage = "output" if "output" in guardrail.stages else "input"

    async def run() -> float:
        best = float("inf")
        for _ in range(rounds):
            start = time.perf_counter()
            for _ in range(repeat):
                await guardrail.check(text, config=config, stage=stage)
            best = min(best, (time.perf_counter() - start) / repeat)
        return best * 1000

    return asyncio.run(run())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    guardrails = [cls() for cls in GUARDRAILS]
    worst = 0.0
    for size in (1024, 10240):
        text = make_text(size, seed=size)
        kb = len(text.encode()) / 1024
        repeat = max(10, args.repeat * 1024 // size)
        print(f"\n{size // 1024} KB text ({len(text)} chars), ms per KB:")
        total = 0.0
        for g in guardrails:
            ms = measure(g, text, repeat, args.rounds)
            total += ms
            print(f"  {g.key:<18} {ms / kb:8.4f}")
        per_kb = total / kb
        worst = max(worst, per_kb)
        print(f"  {'total':<18} {per_kb:8.4f}  (target <= {TARGET_MS_PER_KB})")
    print(f"\nworst total: {worst:.4f} ms/KB -> {'OK' if worst <= TARGET_MS_PER_KB else 'OVER'}")
    return 0 if worst <= TARGET_MS_PER_KB else 1


if __name__ == "__main__":
    raise SystemExit(main())
