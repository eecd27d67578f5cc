"""Secrets: cloud and SaaS credentials, private keys and JWTs, by their documented formats.

Every format has a fixed prefix, so one cheap substring test per kind skips the regex when the
text cannot contain it. Spans cover the secret value only (not the ``aws_secret_access_key =``
around it), and a reported secret is never repeated in reasons or categories.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import Guardrail, Span, Verdict

from ._util import as_text, config_of, drop_contained, redact_verdict

Kind = Literal["aws_access_key_id", "aws_secret_access_key", "github_token", "slack_token",
               "slack_webhook", "stripe_key", "google_api_key", "openai_key", "anthropic_key",
               "private_key", "jwt"]

_END = r"(?![A-Za-z0-9_-])"

#: kind -> (placeholder label, substrings one of which must occur, regex; group 1 if present
#: is the secret itself)
PATTERNS: dict[str, tuple[str, tuple[str, ...], re.Pattern[str]]] = {
    "aws_access_key_id": ("AWS_KEY", ("IA", "CA", "PA", "DA", "SA", "VA", "OA", "KA"), re.compile(
        r"(?<![A-Za-z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|AROA|APKA)"
        r"[A-Z2-7]{16}(?![A-Za-z0-9])")),
    "aws_secret_access_key": ("AWS_SECRET", ("ecret", "ECRET"), re.compile(
        r"(?i:aws_?secret(?:_?access)?_?key|secret_?access_?key|aws_?secret)"
        r"[\"']?\s*(?:=|:|=>|\s)\s*[\"']?([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+=])")),
    "github_token": ("GITHUB_TOKEN", ("gh", "github_pat_"), re.compile(
        r"(?<![A-Za-z0-9_])(?:gh[pousr]_[A-Za-z0-9]{36,251}|github_pat_[A-Za-z0-9_]{60,120})"
        r"(?![A-Za-z0-9_])")),
    "slack_token": ("SLACK_TOKEN", ("xox", "xapp-"), re.compile(
        r"(?<![A-Za-z0-9])(?:xox[abposre]|xapp)-\d+-[A-Za-z0-9-]{8,}" + _END)),
    "slack_webhook": ("SLACK_WEBHOOK", ("hooks.slack.com",), re.compile(
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,}")),
    "stripe_key": ("STRIPE_KEY", ("k_live_", "k_test_"), re.compile(
        r"(?<![A-Za-z0-9])[sr]k_(?:live|test)_[A-Za-z0-9]{20,247}(?![A-Za-z0-9])")),
    "google_api_key": ("GOOGLE_API_KEY", ("AIza",), re.compile(
        r"(?<![A-Za-z0-9_-])AIza[0-9A-Za-z_-]{35}" + _END)),
    "anthropic_key": ("ANTHROPIC_KEY", ("sk-ant-",), re.compile(
        r"(?<![A-Za-z0-9_-])sk-ant-[a-z]{3,8}\d{2}-[A-Za-z0-9_-]{32,}" + _END)),
    "openai_key": ("OPENAI_KEY", ("sk-",), re.compile(
        r"(?<![A-Za-z0-9_-])sk-(?!ant-)(?:(?:proj|svcacct|admin|None)-)?"
        r"(?=[A-Za-z0-9_-]{0,200}\d)(?=[A-Za-z0-9_-]{0,200}[A-Za-z])[A-Za-z0-9_-]{32,}" + _END)),
    "private_key": ("PRIVATE_KEY", ("PRIVATE KEY",), re.compile(
        r"-----BEGIN ((?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP |SSH2 )?PRIVATE KEY(?: BLOCK)?)"
        r"-----[\s\S]*?(?:-----END \1-----|\Z)")),
    "jwt": ("JWT", ("eyJ",), re.compile(
        r"(?<![A-Za-z0-9_-])eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}"
        + _END)),
}
KINDS: tuple[str, ...] = tuple(PATTERNS)
MIN_DISTINCT = 8


def _placeholder(value: str) -> bool:
    """Documentation fillers such as ``AKIAXXXXXXXXXXXXXXXX`` have too few distinct characters."""
    return len(set(value)) < MIN_DISTINCT


class SecretsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: list[Kind] = Field(
        default_factory=lambda: list(KINDS), title="Kinds of secrets",
        description="Which credential formats to look for; all of them by default.")


class Secrets(Guardrail):
    """Finds credentials by format: a ``redact`` verdict with one span per secret."""

    key = "secrets"
    title = "Secrets"
    description = ("AWS, GitHub, Slack, Stripe, Google, OpenAI and Anthropic keys, private key "
                   "blocks and JWTs; each becomes a placeholder such as [GITHUB_TOKEN_1].")
    Config = SecretsConfig

    async def check(self, text: str, *, config: object = None, stage: str = "input") -> Verdict:
        return find_secrets(as_text(text), config_of(SecretsConfig, config).kinds)


def find_secrets(text: str, kinds: list[str] | tuple[str, ...] = KINDS) -> Verdict:
    """The verdict of the secrets guardrail for ``text``."""
    spans: list[Span] = []
    for kind in KINDS:
        label, needles, pattern = PATTERNS[kind]
        if kind not in kinds or not any(n in text for n in needles):
            continue
        group = 1 if pattern.groups and kind != "private_key" else 0
        spans += [Span(start=m.start(group), end=m.end(group), category=kind, label=label)
                  for m in pattern.finditer(text) if not _placeholder(m.group(group))]
    return redact_verdict(drop_contained(spans), "secret", "secrets")
