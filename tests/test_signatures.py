"""Every built-in signature scheme: providers' published examples, valid, wrong secret,
tampered body, stale timestamp, missing header."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any

import pytest

from hub import Unauthorized
from hub.plugins import create_plugin_manager
from hub.registry import build_registry
from hub.settings import Settings

NOW = 1_700_000_000.0
Signer = Callable[[bytes, bytes, float], dict[str, str]]


def _hex(secret: bytes, msg: bytes, algo: str = "sha256") -> str:
    return hmac.new(secret, msg, algo).hexdigest()


def github(body: bytes, secret: bytes, ts: float) -> dict[str, str]:
    return {"x-hub-signature-256": "sha256=" + _hex(secret, body)}


def stripe(body: bytes, secret: bytes, ts: float) -> dict[str, str]:
    t = str(int(ts))
    return {"stripe-signature": f"t={t},v1={_hex(secret, t.encode() + b'.' + body)},v0=abc"}


def slack(body: bytes, secret: bytes, ts: float) -> dict[str, str]:
    t = str(int(ts))
    return {"x-slack-request-timestamp": t,
            "x-slack-signature": "v0=" + _hex(secret, b"v0:" + t.encode() + b":" + body)}


def shopify(body: bytes, secret: bytes, ts: float) -> dict[str, str]:
    mac = hmac.new(secret, body, hashlib.sha256).digest()
    return {"x-shopify-hmac-sha256": base64.b64encode(mac).decode()}


HMAC_CONFIG = {"header": "X-Sig", "algorithm": "sha512", "encoding": "base64", "prefix": "v1,",
               "timestamp_header": "X-Ts", "signed_payload": "{timestamp}.{body}"}


def generic(body: bytes, secret: bytes, ts: float) -> dict[str, str]:
    t = str(int(ts))
    mac = hmac.new(secret, t.encode() + b"." + body, hashlib.sha512).digest()
    return {"x-ts": t, "x-sig": "v1," + base64.b64encode(mac).decode()}


def token(body: bytes, secret: bytes, ts: float) -> dict[str, str]:
    return {"x-gitlab-token": secret.decode()}


def basic(body: bytes, secret: bytes, ts: float) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(b"hooks:" + secret).decode()}


#: scheme key, config, signer, header that carries the proof, binds the body, has a timestamp
CASES: list[tuple[str, dict[str, Any], Signer, str, bool, bool]] = [
    ("github", {}, github, "x-hub-signature-256", True, False),
    ("stripe", {}, stripe, "stripe-signature", True, True),
    ("slack", {}, slack, "x-slack-signature", True, True),
    ("shopify", {}, shopify, "x-shopify-hmac-sha256", True, False),
    ("hmac", HMAC_CONFIG, generic, "x-sig", True, True),
    ("token", {"header": "X-Gitlab-Token"}, token, "x-gitlab-token", False, False),
    ("basic", {"username": "hooks"}, basic, "authorization", False, False),
]
IDS = [c[0] for c in CASES]



@pytest.fixture(scope="module")
def schemes() -> dict[str, Any]:
    pm = create_plugin_manager(load_entrypoints=False, settings=Settings())
    return build_registry(pm).signature_schemes


def _verify(scheme: tuple[Any, dict[str, Any]], body: bytes, headers: dict[str, str],
            secret: bytes = b"s3cret", now: float = NOW) -> None:
    cls, config = scheme
    cls().verify(body=body, headers=headers, secret=secret,
                 config=cls.Config.model_validate(config), now=now)


BODY = b'{"id": "evt_1", "amount": 100}'


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_valid(schemes, case) -> None:  # type: ignore[no-untyped-def]
    key, config, sign, header, binds, timed = case
    _verify((schemes[key], config), BODY, sign(BODY, b"s3cret", NOW))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_secret(schemes, case) -> None:  # type: ignore[no-untyped-def]
    key, config, sign, header, binds, timed = case
    with pytest.raises(Unauthorized) as err:
        _verify((schemes[key], config), BODY, sign(BODY, b"other", NOW))
    assert err.value.code == "bad_signature"
    assert "s3cret" not in err.value.message


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_tampered_body(schemes, case) -> None:  # type: ignore[no-untyped-def]
    key, config, sign, header, binds, timed = case
    headers = sign(BODY, b"s3cret", NOW)
    tampered = BODY.replace(b"100", b"900")
    if not binds:  # token and basic auth prove the sender, not the body
        _verify((schemes[key], config), tampered, headers)
        return
    with pytest.raises(Unauthorized):
        _verify((schemes[key], config), tampered, headers)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_stale_timestamp(schemes, case) -> None:  # type: ignore[no-untyped-def]
    key, config, sign, header, binds, timed = case
    headers = sign(BODY, b"s3cret", NOW - 301)
    if not timed:  # no timestamp in the scheme: an old delivery is checked by dedupe only
        _verify((schemes[key], config), BODY, headers)
        return
    with pytest.raises(Unauthorized) as err:
        _verify((schemes[key], config), BODY, headers)
    assert err.value.code == "stale_signature"
    _verify((schemes[key], config), BODY, sign(BODY, b"s3cret", NOW - 299))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_missing_header(schemes, case) -> None:  # type: ignore[no-untyped-def]
    key, config, sign, header, binds, timed = case
    headers = sign(BODY, b"s3cret", NOW)
    del headers[header]
    with pytest.raises(Unauthorized) as err:
        _verify((schemes[key], config), BODY, headers)
    assert err.value.code == "bad_signature"


def test_github_published_example(schemes) -> None:  # type: ignore[no-untyped-def]
    # docs.github.com, "Validating webhook deliveries": secret, payload and expected header.
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
    _verify((schemes["github"], {}), b"Hello, World!", {"x-hub-signature-256": expected},
            secret=b"It's a Secret to Everybody")


def test_slack_published_example(schemes) -> None:  # type: ignore[no-untyped-def]
    # api.slack.com, "Verifying requests from Slack": the documented request and signature.
    body = (b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
            b"&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA"
            b"&user_name=roadrunner&command=%2Fwebhook-collect&text="
            b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F"
            b"397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
            b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c")
    headers = {"x-slack-request-timestamp": "1531420618", "x-slack-signature":
               "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"}
    _verify((schemes["slack"], {}), body, headers, secret=b"8f742231b10e8888abcd99yyyzzz85a5",
            now=1531420618 + 10)


def test_stripe_accepts_any_v1_during_rotation(schemes) -> None:  # type: ignore[no-untyped-def]
    t = str(int(NOW))
    good = _hex(b"s3cret", t.encode() + b"." + BODY)
    header = f"t={t},v1={_hex(b'old', t.encode() + b'.' + BODY)},v1={good}"
    _verify((schemes["stripe"], {}), BODY, {"stripe-signature": header})
    with pytest.raises(Unauthorized):
        _verify((schemes["stripe"], {}), BODY, {"stripe-signature": f"t={t}"})


def test_hmac_hex_default_and_signature_headers(schemes) -> None:  # type: ignore[no-untyped-def]
    headers = {"x-signature": _hex(b"s3cret", BODY).upper()}
    _verify((schemes["hmac"], {}), BODY, headers)
    cls = schemes["hmac"]
    hidden = cls().signature_headers(cls.Config.model_validate(HMAC_CONFIG))
    assert hidden == {"x-sig", "x-ts"}


def test_basic_rejects_other_schemes(schemes) -> None:  # type: ignore[no-untyped-def]
    for value in ("Bearer abc", "Basic ???"):
        with pytest.raises(Unauthorized):
            _verify((schemes["basic"], {"username": "hooks"}), BODY, {"authorization": value})


def test_now_is_used_when_checking_freshness(schemes) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    _verify((schemes["slack"], {}), BODY, slack(BODY, b"s3cret", now), now=now)
