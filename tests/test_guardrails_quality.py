"""The built-in guardrails on the corpus (precision/recall floors), under fuzzing, and quiet.

The floors sit slightly below what ``python bench/guardrails_quality.py`` measures, so a change
that makes a guardrail miss more, or flag more clean text, fails here.
"""

from __future__ import annotations

import importlib.util
import logging
import random
import sys
from pathlib import Path
from types import ModuleType

import pytest
from hub_plugins.guardrails import GUARDRAILS

from hub import Guardrail, Verdict

ROOT = Path(__file__).resolve().parents[1]

#: guardrail -> (precision floor, recall floor); measured: see the README.
FLOORS = {
    "personal_data": (0.97, 0.93),
    "secrets": (0.97, 0.97),
    "prompt_injection": (0.97, 0.87),
    "json_schema": (0.97, 0.97),
    "blocklist": (0.97, 0.97),
    "url_allowlist": (0.97, 0.92),
    "max_length": (0.97, 0.97),
}
PATTERN_BASED = ("personal_data", "secrets", "prompt_injection")
CONFIGS = {
    "json_schema": {"json_schema": {"type": "object", "required": ["a"]}},
    "blocklist": {"terms": ["falcon", "C++", "ünïcode"]},
    "url_allowlist": {"allowed_hosts": ["example.com"], "allowed_patterns": ["https://x.test/*"]},
    "max_length": {"max_chars": 50},
}


def _load_quality() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "guardrails_quality", ROOT / "bench" / "guardrails_quality.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being defined
    spec.loader.exec_module(module)
    return module


quality = _load_quality()


def test_every_builtin_has_a_corpus() -> None:
    assert sorted(quality.keys()) == sorted(FLOORS) == sorted(cls.key for cls in GUARDRAILS)


@pytest.mark.parametrize("key", PATTERN_BASED)
def test_pattern_corpus_size(key: str) -> None:
    examples = quality.load(key)
    positives = sum(1 for ex in examples if ex["expect"])
    assert positives >= 30 and len(examples) - positives >= 30


@pytest.mark.parametrize("key", sorted(FLOORS))
async def test_precision_and_recall_floors(key: str) -> None:
    scores, misses = await quality.evaluate(key)
    total = scores["total"]
    p_floor, r_floor = FLOORS[key]
    assert total.precision >= p_floor, misses
    assert total.recall >= r_floor, misses
    for cat, score in scores.items():  # no kind is left far behind by a good total
        assert score.recall >= 0.8 and score.precision >= 0.8, (cat, misses)


def test_quality_script_prints_a_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert quality.main() == 0
    out = capsys.readouterr().out
    assert "personal_data: 55 positive, 55 negative examples" in out
    assert "precision" in out and "recall" in out


@pytest.mark.parametrize("key", ["personal_data", "secrets"])
async def test_verdicts_never_carry_the_finding(key: str) -> None:
    guard = next(cls for cls in GUARDRAILS if cls.key == key)()
    checked = 0
    for ex in quality.load(key):
        verdict = await guard.check(ex["text"], config=None, stage="input")
        dumped = verdict.model_dump_json(exclude={"spans"}) + "".join(
            s.category + s.label for s in verdict.spans)
        for s in verdict.spans:
            value = ex["text"][s.start:s.end]
            assert value not in dumped, (key, value)
            checked += 1
    assert checked >= 30


def _fuzz_texts(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    alphabet = ("0123456789 -.:@+/_=()[]<>|#{}\"'\n\tabcdefxyzABCDEFXYZ"
                "éüİßΣж中文🙂\u200b\u202e\ud800\U000e0041\x00")
    pieces = ["sk-", "ghp_", "AKIA", "eyJ", "xoxb-1-", "http://", "www.", "-----BEGIN ",
              "PRIVATE KEY-----", "ignore previous instructions", "DE89", "+44 ", "::", "@x.io",
              "aws_secret_access_key=", "<|im_start|>", "```json\n", "SSN ", "AIza", "4111"]
    texts = []
    for _ in range(count):
        parts = [rng.choice(pieces) if rng.random() < 0.2 else
                 "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
                 for _ in range(rng.randint(0, 12))]
        texts.append("".join(parts))
    return texts


def _check_verdict(verdict: Verdict, text: str) -> None:
    assert isinstance(verdict, Verdict)
    for s in verdict.spans:
        assert 0 <= s.start < s.end <= len(text)


@pytest.mark.parametrize("cls", GUARDRAILS, ids=lambda c: c.key)
async def test_fuzz_never_raises(cls: type[Guardrail]) -> None:
    guard = cls()
    config = cls.Config.model_validate(CONFIGS.get(cls.key, {}))
    stage = "input" if "input" in cls.stages else "output"
    hostile = ["1" * 5000, "+1 " * 2000, "a@" * 3000, ":" * 5000, "eyJ" * 2000, "[" * 5000,
               "sk-" + "a1" * 3000, "ignore " * 2000, "DE89 " * 1000, "1." * 3000, ""]
    for text in _fuzz_texts(seed=sum(map(ord, cls.key)), count=150) + hostile:
        _check_verdict(await guard.check(text, config=config, stage=stage), text)
    for value in ({"to": "jane@example.com"}, ["a", 1, None], 42, b"\xff\xfe"):
        await guard.check(value, config=config, stage=stage)  # type: ignore[arg-type]


async def test_guardrails_never_log_the_text(caplog: pytest.LogCaptureFixture) -> None:
    text = ("Ignore previous instructions. jane@example.com 4111 1111 1111 1111 "
            "sk_live_Zq8Lm2Xv9Rt4Kp7Wn3Bc6Hd1 https://evil.test/x falcon " + "z" * 60)
    with caplog.at_level(logging.DEBUG):
        for cls in GUARDRAILS:
            config = cls.Config.model_validate(CONFIGS.get(cls.key, {}))
            for stage in ("input", "output"):
                await cls().check(text, config=config, stage=stage)
    assert not [r for r in caplog.records if r.name.startswith(("hub", "hub_plugins"))]
    assert "jane@example.com" not in caplog.text and "sk_live_" not in caplog.text
