"""Prompt-injection heuristics for AI step inputs.

Each rule is a weighted pattern; the score of a text is ``1 - prod(1 - weight)`` over the
distinct rules that fire, so one strong signal or several weak ones cross the threshold.
Base64 runs are decoded and scanned with the same rules, and invisible "tag" characters that
hide instructions from people are a rule of their own.
"""

from __future__ import annotations

import base64
import binascii
import re

from pydantic import BaseModel, ConfigDict, Field

from hub import Guardrail, Span, Verdict

from ._util import as_text, block_verdict, config_of

_PREV = r"(?:previous|prior|above|earlier|preceding|foregoing|original|initial|system|all)"
_RULES_NOUN = (r"(?:instructions?|prompts?|rules|directions|directives|guidelines|guidance|"
               r"context|commands?|constraints|programming|messages?)")
_REVEAL = r"(?:reveal|show|print|display|repeat|output|tell me|give me|dump|leak|write out|recite)"
_SECRET_PROMPT = (r"(?:system prompt|system message|initial (?:prompt|instructions)|hidden "
                  r"(?:prompt|instructions)|(?:the )?instructions (?:above|you were given)|"
                  r"(?:your|the) (?:original|developer) (?:prompt|instructions)|pre-?prompt)")

_VERBS = ("ignor", "disregard", "forget", "skip", "overrid", "drop", "abandon", "bypass")
_NOUNS = ("instruction", "prompt", "rule", "direction", "directive", "guideline", "guidance",
          "context", "command", "constraint", "programming", "message", "restriction", "filter",
          "polic", "guardrail")

#: name -> (weight, substrings of which one must occur in the lower-cased text, pattern over
#: the lower-cased text). The substring test skips most rules on ordinary text.
RULES: dict[str, tuple[float, tuple[str, ...], str]] = {
    "ignore_instructions": (0.9, _VERBS, rf"\b(?:ignore|disregard|forget|skip|override|drop|"
                            rf"abandon)\s+(?:\w+\s+){{0,3}}?{_PREV}\s+(?:\w+\s+){{0,2}}?"
                            rf"{_RULES_NOUN}"),
    "ignore_rules": (0.7, _VERBS, r"\b(?:ignore|disregard|forget|bypass|override)\s+(?:all\s+)?"
                     r"(?:your|the|any)\s+(?:safety\s+|content\s+)?(?:rules|instructions|"
                     r"guidelines|restrictions|filters|policies|programming|guardrails)"),
    "new_instructions": (0.5, ("instructions", "task", "system prompt", "rules"),
                         r"(?:^|\n|\.\s)\s*(?:new|updated|real|actual|revised)\s+"
                         r"(?:instructions|task|system prompt|rules)\s*:"),
    "role_override": (0.6, ("you are n",), r"\byou\s+are\s+(?:now|no\s+longer)\s+(?:an?\s+|"
                      r"in\s+|my\s+)?(?:unrestricted|unfiltered|jailbroken|evil|uncensored|"
                      r"dan\b|developer\s+mode|different|free|not\s+bound|an?\s+ai\s+without)"),
    "act_as_unrestricted": (0.7, ("unrestricted", "unfiltered", "jailbroken", "uncensored",
                                  "evil", "dan", "ai with"),
                            r"\b(?:act|behave|respond|pretend(?:\s+to\s+be)?)\s+(?:as|like)?"
                            r"\s*(?:an?\s+)?(?:unrestricted|unfiltered|jailbroken|uncensored|"
                            r"evil|dan\b|ai\s+with(?:out)?\s+(?:no\s+)?(?:rules|limits|"
                            r"restrictions))"),
    "jailbreak_terms": (0.6, ("anything now", "mode", "ethical", "moral"),
                        r"\b(?:do\s+anything\s+now|developer\s+mode\s+(?:enabled|on)|"
                        r"jailbreak(?:en)?\s+mode|dan\s+mode|god\s+mode\s+enabled|"
                        r"no\s+(?:ethical|moral)\s+(?:guidelines|restrictions))"),
    "from_now_on": (0.35, ("now on",), r"\bfrom\s+now\s+on,?\s+(?:you|your|ignore|always|"
                    r"never|respond)"),
    "prompt_exfiltration": (0.8, ("prompt", "system message", "instructions"),
                            rf"\b{_REVEAL}\s+(?:me\s+)?(?:\w+\s+){{0,3}}?{_SECRET_PROMPT}"),
    "repeat_above": (0.6, ("above", "before this", "verbatim"),
                     r"\b(?:repeat|print|output|copy)\s+(?:all\s+|everything\s+|the\s+"
                     r"(?:text|words|content)\s+)?(?:above|before\s+this|verbatim\s+from"
                     r"\s+the\s+(?:start|beginning))"),
    "what_is_prompt": (0.5, ("prompt", "system message", "instructions"),
                       rf"\bwhat\s+(?:is|are|was|were)\s+(?:your|the)\s+{_SECRET_PROMPT}"),
    "fake_role_marker": (0.7, ("<|", "inst]", "sys>>", "<system", "</system", "instructions>",
                               "##", "system", "assistant"),
                         r"<\|im_start\|>|<\|im_end\|>|<\|(?:system|assistant|user|"
                         r"endoftext|eot_id|start_header_id)\|>|\[/?inst\]|<</?sys>>|"
                         r"</?(?:system|system_prompt|instructions)>|"
                         r"(?:^|\n)[ \t]*#{2,}[ \t]*(?:system|instruction)s?\b|"
                         r"(?:^|\n)[ \t]*(?:system|assistant)[ \t]*:\s"),
    "end_of_input": (0.5, ("end of", "ends here"),
                     r"\b(?:end\s+of\s+(?:user\s+)?(?:input|prompt|document|context)|"
                     r"user\s+input\s+ends?\s+here)\b"),
    "safety_bypass": (0.6, ("bypass", "disable", "turn off", "deactivate", "circumvent"),
                      r"\b(?:bypass|disable|turn\s+off|deactivate|circumvent)\s+(?:all\s+|"
                      r"your\s+|the\s+|any\s+)?(?:safety|content|moderation|ethical)?\s*"
                      r"(?:filters?|restrictions|guardrails|safeguards|moderation)"),
    "do_not_tell": (0.4, ("the user",), r"\b(?:do\s+not|don't|never)\s+(?:tell|inform|"
                    r"mention\s+(?:this\s+)?to|reveal\s+(?:this\s+)?to)\s+the\s+user\b"),
    "decode_and_follow": (0.5, ("decode", "rot13"),
                          r"\b(?:decode|base64[- ]decode|rot13)\b[^.\n]{0,60}\b(?:follow|"
                          r"execute|obey|run|do\s+what)"),
    "exfil_markdown": (0.6, ("![",), r"!\[[^\]]{0,40}\]\(https?://[^)\s]{1,200}[?&][^)\s=]{1,40}"
                       r"=[^)\s]{0,20}(?:\{|%7b|\$\{)"),
}
#: name -> (pattern for lower-cased text, the same pattern case-insensitively for texts whose
#: length changes when lower-cased)
COMPILED = {name: (re.compile(src), re.compile(src, re.IGNORECASE))
            for name, (_, _, src) in RULES.items()}
BASE64_RE = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{24,}={0,2}(?![A-Za-z0-9+/=])")
TAG_CHARS_RE = re.compile("[\U000e0000-\U000e007f]{4,}")
BASE64_WEIGHT = 0.9
TAG_WEIGHT = 0.9


class InjectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: float = Field(0.5, ge=0.0, le=1.0, title="Score threshold",
                             description="Block when the combined score reaches this (0 to 1).")
    scan_base64: bool = Field(True, title="Decode base64",
                              description="Also scan base64-encoded runs for instructions.")


def _rule_hits(text: str) -> dict[str, tuple[int, int]]:
    hits: dict[str, tuple[int, int]] = {}
    lowered = text.lower()
    same = len(lowered) == len(text)
    for name, (_, needles, _) in RULES.items():
        if any(n in lowered for n in needles):
            fast, slow = COMPILED[name]
            m = fast.search(lowered) if same else slow.search(text)
            if m:
                hits[name] = m.span()
    return hits


def _decoded_runs(text: str) -> list[tuple[int, int, str]]:
    out = []
    for m in BASE64_RE.finditer(text):
        raw = m.group()
        try:
            decoded = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
            plain = decoded.decode("utf-8")
        except (binascii.Error, ValueError):
            continue
        if plain.isprintable() or all(c.isprintable() or c in "\n\r\t" for c in plain):
            out.append((m.start(), m.end(), plain))
    return out


def score_text(text: str, *, scan_base64: bool = True) -> tuple[float, dict[str, tuple[int, int]]]:
    """The injection score of ``text`` and the rules that fired with where they matched."""
    hits = _rule_hits(text)
    if scan_base64 and len(text) >= 24:
        for start, end, plain in _decoded_runs(text):
            if _rule_hits(plain):
                hits.setdefault("base64_instructions", (start, end))
    if max(text, default="\0") >= "\U000e0000":
        tag = TAG_CHARS_RE.search(text)
        if tag:
            hits["hidden_tag_characters"] = tag.span()
    keep = 1.0
    for name in hits:
        keep *= 1.0 - _weight(name)
    return 1.0 - keep, hits


def _weight(name: str) -> float:
    if name == "base64_instructions":
        return BASE64_WEIGHT
    if name == "hidden_tag_characters":
        return TAG_WEIGHT
    return RULES[name][0]


class PromptInjection(Guardrail):
    """Scores an input for injection attempts; at or above the threshold it is a ``block``."""

    key = "prompt_injection"
    title = "Prompt injection"
    description = ("Heuristics for instruction overrides, role changes, system prompt "
                   "extraction, fake chat delimiters, hidden and base64-wrapped instructions.")
    Config = InjectionConfig
    stages = frozenset({"input"})

    async def check(self, text: str, *, config: object = None, stage: str = "input") -> Verdict:
        cfg = config_of(InjectionConfig, config)
        return find_injection(as_text(text), cfg.threshold, scan_base64=cfg.scan_base64)


def find_injection(text: str, threshold: float = 0.5, *, scan_base64: bool = True) -> Verdict:
    """The verdict of the prompt injection guardrail for ``text``."""
    score, hits = score_text(text, scan_base64=scan_base64)
    if not hits or score < threshold:
        return Verdict()
    names = sorted(hits, key=lambda n: hits[n])
    spans = [Span(start=s, end=e, category=n, label="INJECTION") for n, (s, e) in
             sorted(hits.items(), key=lambda kv: kv[1])]
    reasons = [f"prompt injection score {score:.2f} >= {threshold:.2f}: " + ", ".join(names)]
    return block_verdict(["prompt_injection", *names], reasons, spans)
