"""Signed timestamps are integer UNIX seconds, as the providers' SDKs read them: ``nan``
once passed every freshness check (``abs(now - nan) > tolerance`` is false)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Callable
from typing import Any

import pytest

from hub import Unauthorized
from hub.plugins import create_plugin_manager
from hub.registry import build_registry
from hub.settings import Settings

NOW = 1_700_000_000
SECRET = b"s3cret"
BODY = b'{"id": "evt_1"}'


def _hex(msg: bytes) -> str:
    return hmac.new(SECRET, msg, hashlib.sha256).hexdigest()


def stripe(t: str) -> dict[str, str]:
    return {"stripe-signature": f"t={t},v1={_hex(t.encode() + b'.' + BODY)}"}


def slack(t: str) -> dict[str, str]:
    return {"x-slack-request-timestamp": t,
            "x-slack-signature": "v0=" + _hex(b"v0:" + t.encode() + b":" + BODY)}


def generic(t: str) -> dict[str, str]:
    mac = hmac.new(SECRET, t.encode() + b"." + BODY, hashlib.sha512).digest()
    return {"x-ts": t, "x-sig": "v1," + base64.b64encode(mac).decode()}


HMAC = {"header": "X-Sig", "algorithm": "sha512", "encoding": "base64", "prefix": "v1,",
        "timestamp_header": "X-Ts", "signed_payload": "{timestamp}.{body}"}
SCHEMES: list[tuple[str, dict[str, Any], Callable[[str], dict[str, str]]]] = [
    ("stripe", {}, stripe), ("slack", {}, slack), ("hmac", HMAC, generic)]


@pytest.fixture(scope="module")
def registry_schemes() -> dict[str, Any]:
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    return build_registry(pm).signature_schemes


def _verify(schemes: dict[str, Any], key: str, config: dict[str, Any],
            headers: dict[str, str]) -> None:
    cls = schemes[key]
    cls().verify(body=BODY, headers=headers, secret=SECRET,
                 config=cls.Config.model_validate(config), now=float(NOW))


@pytest.mark.parametrize(("key", "config", "sign"), SCHEMES, ids=[s[0] for s in SCHEMES])
@pytest.mark.parametrize(("stamp", "code"), [
    ("nan", "bad_signature"), ("NaN", "bad_signature"), ("inf", "bad_signature"),
    ("-inf", "bad_signature"), ("1e3", "bad_signature"), ("12.5", "bad_signature"),
    (f"{NOW}.0", "bad_signature"), ("1_700_000_000", "bad_signature"),
    (" 1700000000", "bad_signature"), ("", "bad_signature"), ("-1", "stale_signature"),
    ("99999999999999999999", "bad_signature"),
])
def test_non_integer_or_absurd_timestamps_are_refused(
        registry_schemes: dict[str, Any], key: str, config: dict[str, Any],
        sign: Callable[[str], dict[str, str]], stamp: str, code: str) -> None:
    with pytest.raises(Unauthorized) as err:
        _verify(registry_schemes, key, config, sign(stamp))
    assert err.value.code == code


@pytest.mark.parametrize(("key", "config", "sign"), SCHEMES, ids=[s[0] for s in SCHEMES])
def test_integer_timestamps_inside_the_window_pass(
        registry_schemes: dict[str, Any], key: str, config: dict[str, Any],
        sign: Callable[[str], dict[str, str]]) -> None:
    for stamp in (NOW, NOW - 299, NOW + 299):
        _verify(registry_schemes, key, config, sign(str(stamp)))
