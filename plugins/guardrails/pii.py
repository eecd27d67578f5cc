"""Personal data: emails, phone numbers, card numbers, IBANs, US SSNs and IP addresses.

Each kind is a precompiled candidate regex followed by a validator (Luhn for cards, mod-97 and
the country's length for IBANs, the SSA's never-issued ranges for SSNs, ``ipaddress`` for IPv6),
so numbers that merely look right are not reported.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import Guardrail, Span, Verdict

from ._util import as_text, config_of, drop_contained, redact_verdict

Kind = Literal["email", "phone", "card_number", "iban", "ssn", "ip_address"]
KINDS: tuple[Kind, ...] = ("email", "phone", "card_number", "iban", "ssn", "ip_address")
LABELS = {"email": "EMAIL", "phone": "PHONE", "card_number": "CARD", "iban": "IBAN",
          "ssn": "SSN", "ip_address": "IP"}

EMAIL_RE = re.compile(
    r"(?<![\w.%+-])[A-Za-z0-9_][A-Za-z0-9._%+-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+([A-Za-z]{2,24})(?![\w-])(:[\w/~])?")
# File names such as icon@2x.png look like addresses; these endings are not mail domains.
FILE_ENDINGS = frozenset({"png", "jpg", "jpeg", "gif", "svg", "webp", "css", "js", "ts", "json",
                          "html", "md", "txt", "pdf", "zip", "tgz", "ico", "mp4", "lock"})

PHONE_RE = re.compile(
    r"(?<![\w+.-])(?:"
    r"(?:\+|00)[1-9]\d{0,2}(?:[ .-]?\(?\d{1,5}+\)?){1,6}"
    r"|(?:1[ .-]?)?(?:\([2-9]\d\d\)[ ]?|[2-9]\d\d[ .-])[2-9]\d\d[ .-]\d{4}"
    r")(?![\w-]|[.,]\d)", re.ASCII)

CARD_RE = re.compile(r"(?<![\w.+-])\d(?:[ -]?\d){12,18}(?![\w-]|[.,]\d)", re.ASCII)

IBAN_RE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?"
                     r"(?![A-Za-z0-9])", re.ASCII)

IBAN_LENGTHS = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28, "EE": 20,
    "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23, "GL": 18,
    "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IS": 26, "IT": 27, "JO": 30,
    "KW": 30, "KZ": 20, "LB": 28, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24, "PL": 28,
    "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SE": 24, "SI": 19, "SK": 24,
    "SM": 27, "TN": 24, "TR": 26, "UA": 29, "VG": 24, "XK": 20,
}

# A cheap candidate first; the boundaries are checked in Python (a leading lookbehind would
# keep the regex engine from skipping ahead to digits).
SSN_RE = re.compile(r"(\d{3})-(\d{2})-(\d{4})", re.ASCII)
SSN_CONTEXT_RE = re.compile(r"(?i:\bssn|\bsocial security(?: number| no\.?)?)[\s#:.-]{0,4}"
                            r"(\d{3})[ ]?(\d{2})[ ]?(\d{4})\b", re.ASCII)
SSN_NEVER_ISSUED = frozenset({"078051120", "219099999", "123456789"})

IPV4_RE = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", re.ASCII)
IPV6_RE = re.compile(r"(?<![\w:.])(?=[0-9A-Fa-f]{0,4}:[0-9A-Fa-f]{0,4}:)[0-9A-Fa-f:.]{3,45}"
                     r"(?![\w:])")
VERSION_CONTEXT_RE = re.compile(
    r"(?:\bv|\bversion|\bver\.?|\brelease|\bbuild|\brev|\bfirmware|\bfw|==|@)\s*[:=]?\s*$",
    re.IGNORECASE)
NOT_PERSONAL_IPS = ("127.", "0.", "255.255.255.255")


def luhn_ok(digits: str) -> bool:
    """The Luhn checksum of a card number."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card_brand_ok(digits: str) -> bool:
    first, two, four = digits[0], int(digits[:2]), int(digits[:4])
    if first == "4":
        return len(digits) in (13, 16, 19)
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return len(digits) == 16
    if two in (34, 37):
        return len(digits) == 15
    return first in "356" and len(digits) >= 14


def _cards(text: str) -> Iterator[tuple[int, int]]:
    for m in CARD_RE.finditer(text):
        raw = m.group()
        seps = {c for c in raw if not c.isdigit()}
        digits = raw.replace(" ", "").replace("-", "")
        if len(seps) <= 1 and 13 <= len(digits) <= 19 and _card_brand_ok(digits) \
                and luhn_ok(digits):
            yield m.span()


def iban_ok(compact: str) -> bool:
    """Country length and the ISO 13616 mod-97 check of a compact IBAN."""
    if IBAN_LENGTHS.get(compact[:2]) != len(compact) or not compact[2:4].isdigit():
        return False
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97 == 1


def _ibans(text: str) -> Iterator[tuple[int, int]]:
    for m in IBAN_RE.finditer(text):
        raw, start = m.group(), m.start()
        want = IBAN_LENGTHS.get(raw[:2])
        if want is None:
            continue
        kept, end = 0, start
        for i, ch in enumerate(raw):
            if ch != " ":
                kept += 1
                if kept == want:
                    end = start + i + 1
                    break
        if kept == want and iban_ok(text[start:end].replace(" ", "")):
            yield start, end


def ssn_ok(area: str, group: str, serial: str) -> bool:
    """The SSA's rules: no 000/666/9xx area, no 00 group, no 0000 serial, no known fakes."""
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return False
    return area + group + serial not in SSN_NEVER_ISSUED


def _bounded(text: str, start: int, end: int, before: str, after: str) -> bool:
    """Whether ``text[start:end]`` is not glued to a word or to the characters given."""
    prev = text[start - 1] if start else " "
    nxt = text[end] if end < len(text) else " "
    return not (prev.isalnum() or prev == "_" or prev in before
                or nxt.isalnum() or nxt == "_" or nxt in after)


def _ssns(text: str) -> Iterator[tuple[int, int]]:
    for m in SSN_RE.finditer(text):
        if _bounded(text, m.start(), m.end(), "-", "-") and ssn_ok(*m.groups()):
            yield m.span()
    lowered = text.lower()
    if "ssn" in lowered or "social security" in lowered:
        for m in SSN_CONTEXT_RE.finditer(text):
            if ssn_ok(*m.groups()):
                yield m.start(1), m.end(3)


def _emails(text: str) -> Iterator[tuple[int, int]]:
    if "@" not in text:
        return
    for m in EMAIL_RE.finditer(text):
        if m.group(2) is None and m.group(1).lower() not in FILE_ENDINGS:
            yield m.start(), m.end(1)


INTL_RE = re.compile(r"(?:\+|00)(\d{1,3})[ .-]\(?(\d)", re.ASCII)


def _international_ok(raw: str, digits: int) -> bool:
    if not 8 <= digits - (raw[0] == "0") * 2 <= 15:
        return False
    # After the country code the national number drops its trunk 0 (Italy keeps it); a 0 there
    # is a run of digit groups (an IBAN, an account number), unless written "(0)".
    m = INTL_RE.match(raw)
    return not (m and m.group(2) == "0" and m.group(1) != "39" and "(0)" not in raw)


def _phones(text: str) -> Iterator[tuple[int, int]]:
    for m in PHONE_RE.finditer(text):
        raw = m.group()
        n = sum(c.isdigit() for c in raw)
        if (_international_ok(raw, n) if raw[0] in "+0" else n in (10, 11)):
            yield m.span()


def _ipv4_ok(text: str, start: int, end: int) -> bool:
    follow = text[end:end + 2]
    if not _bounded(text, start, end, ".", "") or (follow[:1] == "." and follow[1:].isdigit()):
        return False
    octets = text[start:end].split(".")
    if any(len(o) > 1 and o[0] == "0" or int(o) > 255 for o in octets):
        return False
    if text.startswith(NOT_PERSONAL_IPS, start):
        return False
    return not VERSION_CONTEXT_RE.search(text, max(0, start - 12), start)


def _ips(text: str) -> Iterator[tuple[int, int]]:
    if "." in text:
        for m in IPV4_RE.finditer(text):
            if _ipv4_ok(text, m.start(), m.end()):
                yield m.span()
    if "::" in text or text.count(":") >= 7:
        yield from _ipv6s(text)


def _ipv6s(text: str) -> Iterator[tuple[int, int]]:
    for m in IPV6_RE.finditer(text):
        raw = m.group().rstrip(".")
        try:
            addr = ipaddress.IPv6Address(raw)
        except ValueError:
            continue
        if not (addr.is_loopback or addr.is_unspecified):
            yield m.start(), m.start() + len(raw)


FINDERS: dict[str, Callable[[str], Iterator[tuple[int, int]]]] = {
    "email": _emails, "phone": _phones, "card_number": _cards, "iban": _ibans, "ssn": _ssns,
    "ip_address": _ips,
}


class PersonalDataConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kinds: list[Kind] = Field(
        default_factory=lambda: list(KINDS), title="Kinds of personal data",
        description="Which kinds to look for; all of them by default.")


class PersonalData(Guardrail):
    """Finds personal data that can be masked: a ``redact`` verdict with one span per value."""

    key = "personal_data"
    title = "Personal data"
    description = ("Emails, phone numbers, card numbers (Luhn), IBANs (mod-97), US SSNs and "
                   "IP addresses; each becomes a placeholder such as [EMAIL_1].")
    Config = PersonalDataConfig

    async def check(self, text: str, *, config: object = None, stage: str = "input") -> Verdict:
        return find_personal_data(as_text(text), config_of(PersonalDataConfig, config).kinds)


def find_personal_data(text: str, kinds: list[Kind] | tuple[Kind, ...] = KINDS) -> Verdict:
    """The verdict of the personal data guardrail for ``text``."""
    spans: list[Span] = []
    for kind in KINDS:
        if kind in kinds:
            spans += [Span(start=s, end=e, category=kind, label=LABELS[kind])
                      for s, e in FINDERS[kind](text)]
    return redact_verdict(drop_contained(spans), "personal_data", "personal data")

