"""Content rules set by the workspace: a term blocklist, a URL allow-list and a length cap."""

from __future__ import annotations

import fnmatch
import re
from functools import lru_cache
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from hub import Guardrail, Span, Verdict

from ._util import as_text, block_verdict, config_of


class BlocklistConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    terms: list[str] = Field(default_factory=list, title="Blocked terms",
                             description="Words or phrases that block the step when they occur.")
    whole_word: bool = Field(True, title="Whole words only",
                             description="Match 'gun' but not 'begun'.")
    case_sensitive: bool = Field(False, title="Case sensitive",
                                 description="Off: 'Secret Project' also matches 'secret project'.")
    topic: str = Field("blocked_topic", pattern=r"^[a-z][a-z0-9_]{0,62}$", title="Topic",
                       description="The category reported when a term matches, e.g. 'weapons'.")


@lru_cache(maxsize=256)
def _terms_regex(terms: tuple[str, ...], whole_word: bool,
                 case_sensitive: bool) -> re.Pattern[str] | None:
    # Longest first so "credit card number" wins over "credit card"; runs of spaces in a term
    # match any whitespace.
    cleaned = sorted({" ".join(t.split()) for t in terms if t.strip()}, key=len, reverse=True)
    if not cleaned:
        return None
    alts = "|".join(r"\s+".join(map(re.escape, t.split(" "))) for t in cleaned)
    source = rf"(?<!\w)(?:{alts})(?!\w)" if whole_word else f"(?:{alts})"
    return re.compile(source, 0 if case_sensitive else re.IGNORECASE)


class Blocklist(Guardrail):
    """Blocks text that contains any of the configured terms."""

    key = "blocklist"
    title = "Keyword and topic blocklist"
    description = "Blocks inputs or outputs mentioning configured words or phrases."
    Config = BlocklistConfig

    async def check(self, text: str, *, config: object = None, stage: str = "input") -> Verdict:
        cfg = config_of(BlocklistConfig, config)
        return find_blocked_terms(as_text(text), cfg)


def find_blocked_terms(text: str, cfg: BlocklistConfig) -> Verdict:
    """The verdict of the blocklist guardrail for ``text``."""
    pattern = _terms_regex(tuple(cfg.terms), cfg.whole_word, cfg.case_sensitive)
    if pattern is None:
        return Verdict()
    spans = [Span(start=m.start(), end=m.end(), category=cfg.topic, label="BLOCKED")
             for m in pattern.finditer(text)]
    if not spans:
        return Verdict()
    return block_verdict(["blocklist", cfg.topic],
                         [f"{len(spans)} blocklisted term occurrence(s) ({cfg.topic})"], spans)


URL_RE = re.compile(r"(?i)\b(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+")
_TRAILING = ".,;:!?)]}*_'\""


class UrlAllowlistConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allowed_hosts: list[str] = Field(
        default_factory=list, title="Allowed hosts",
        description="Host names; '*.example.com' also allows every subdomain.")
    allowed_patterns: list[str] = Field(
        default_factory=list, title="Allowed URL patterns",
        description="Glob patterns over the whole URL, e.g. https://docs.example.com/*")


@lru_cache(maxsize=256)
def _allow_rules(hosts: tuple[str, ...],
                 patterns: tuple[str, ...]) -> tuple[frozenset[str], tuple[str, ...],
                                                     re.Pattern[str] | None]:
    exact = frozenset(h.strip().lower().rstrip(".") for h in hosts if not h.startswith("*."))
    suffixes = tuple("." + h[2:].strip().lower().rstrip(".") for h in hosts if h.startswith("*."))
    globs = [fnmatch.translate(p.strip()) for p in patterns if p.strip()]
    rx = re.compile("|".join(f"(?:{g})" for g in globs), re.IGNORECASE) if globs else None
    return exact, suffixes, rx


def _host_of(url: str) -> str | None:
    if url[:4].lower() == "www.":
        url = "http://" + url
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def url_allowed(url: str, cfg: UrlAllowlistConfig) -> bool:
    """Whether ``url`` is allowed by the host list or one of the patterns."""
    exact, suffixes, rx = _allow_rules(tuple(cfg.allowed_hosts), tuple(cfg.allowed_patterns))
    host = _host_of(url)
    if host is not None and (host in exact or host.endswith(suffixes)):
        return True
    return bool(rx and rx.match(url))


class UrlAllowlist(Guardrail):
    """Blocks output that links anywhere but the allowed hosts and URL patterns."""

    key = "url_allowlist"
    title = "URL allow-list"
    description = "Blocks outputs containing a URL whose host or address is not allowed."
    Config = UrlAllowlistConfig
    stages = frozenset({"output"})

    async def check(self, text: str, *, config: object = None, stage: str = "output") -> Verdict:
        return find_disallowed_urls(as_text(text), config_of(UrlAllowlistConfig, config))


def find_disallowed_urls(text: str, cfg: UrlAllowlistConfig) -> Verdict:
    """The verdict of the URL allow-list guardrail for ``text``."""
    if "://" not in text and "www." not in text.lower():
        return Verdict()
    spans: list[Span] = []
    for m in URL_RE.finditer(text):
        url = m.group().rstrip(_TRAILING)
        if not url_allowed(url, cfg):
            spans.append(Span(start=m.start(), end=m.start() + len(url), category="url",
                              label="URL"))
    if not spans:
        return Verdict()
    return block_verdict(["url_not_allowed"],
                         [f"{len(spans)} URL(s) outside the allow-list"], spans)


class MaxLengthConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    max_chars: int = Field(20000, ge=1, title="Maximum characters",
                           description="Longer texts are blocked.")


class MaxLength(Guardrail):
    """Blocks text longer than the configured number of characters."""

    key = "max_length"
    title = "Maximum length"
    description = "Blocks inputs or outputs longer than a number of characters."
    Config = MaxLengthConfig

    async def check(self, text: str, *, config: object = None, stage: str = "input") -> Verdict:
        limit = config_of(MaxLengthConfig, config).max_chars
        size = len(as_text(text))
        if size <= limit:
            return Verdict()
        return block_verdict(["too_long"], [f"{size} characters, the limit is {limit}"])
