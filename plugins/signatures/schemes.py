"""The signature schemes. ``verify`` returns when the request is authentic and raises
``Unauthorized`` (code ``bad_signature`` or ``stale_signature``) otherwise."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub import SignatureScheme, Unauthorized

_UNIX_TIME = re.compile(r"-?[0-9]{1,15}")
DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}


def bad(message: str = "the signature does not match") -> Unauthorized:
    return Unauthorized(message, code="bad_signature")


def _header(headers: dict[str, str], name: str) -> str:
    value = headers.get(name.lower())
    if not value:
        raise bad(f"missing {name} header")
    return value


def _fresh(timestamp: str, now: float, tolerance: float) -> None:
    """Integer UNIX seconds only, as the providers' SDKs parse them (``int(t)``): ``nan``,
    ``inf``, ``1e3`` or ``12.5`` are refused, never compared (``abs(now - nan) > x`` is
    false, which would let any timestamp through)."""
    if not _UNIX_TIME.fullmatch(timestamp):
        raise bad("the signature timestamp is not an integer UNIX time")
    if abs(now - int(timestamp)) > tolerance:
        raise Unauthorized("the signature timestamp is outside the allowed window",
                           code="stale_signature")


def _mac(secret: bytes, message: bytes, digest: str = "sha256") -> bytes:
    return hmac.new(secret, message, DIGESTS[digest]).digest()


def _same(expected: str | bytes, given: str | bytes) -> None:
    a = expected.encode() if isinstance(expected, str) else expected
    b = given.encode() if isinstance(given, str) else given
    if not hmac.compare_digest(a, b):
        raise bad()


class _Window(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tolerance: float = Field(300.0, ge=1, le=86400, title="Tolerance (s)",
                             description="How old a signed timestamp may be.")


class GitHub(SignatureScheme):
    """``X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>``."""

    key = "github"
    title = "GitHub"
    description = "X-Hub-Signature-256 (HMAC-SHA256 of the body, hex)."
    dedupe_key = 'headers."x-github-delivery"'

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        given = _header(headers, "X-Hub-Signature-256")
        _same("sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest(), given)

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        return frozenset({"x-hub-signature-256", "x-hub-signature"})


class Stripe(SignatureScheme):
    """``Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>...]`` over ``{t}.{body}``."""

    key = "stripe"
    title = "Stripe"
    description = "Stripe-Signature t=/v1= (HMAC-SHA256 of 't.body'), 5-minute tolerance."
    Config = _Window
    dedupe_key = "body.id"

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        assert isinstance(config, _Window)
        parts = [p.split("=", 1) for p in _header(headers, "Stripe-Signature").split(",")]
        pairs = [(k.strip(), v.strip()) for k, v in (p for p in parts if len(p) == 2)]
        stamps = [v for k, v in pairs if k == "t"]
        sigs = [v for k, v in pairs if k == "v1"]
        if not stamps or not sigs:
            raise bad("Stripe-Signature lacks t= or v1=")
        expected = hmac.new(secret, stamps[0].encode() + b"." + body, hashlib.sha256).hexdigest()
        # Every v1 is compared (no early exit) so timing does not tell which one matched.
        matched = [hmac.compare_digest(expected.encode(), s.encode()) for s in sigs]
        if not any(matched):
            raise bad()
        _fresh(stamps[0], now, config.tolerance)

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        return frozenset({"stripe-signature"})


class Slack(SignatureScheme):
    """``X-Slack-Signature: v0=<hex HMAC-SHA256 of 'v0:{ts}:{body}'>``."""

    key = "slack"
    title = "Slack"
    description = "X-Slack-Signature v0 over 'v0:timestamp:body', 5-minute window."
    Config = _Window
    dedupe_key = "body.event_id"

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        assert isinstance(config, _Window)
        ts = _header(headers, "X-Slack-Request-Timestamp")
        given = _header(headers, "X-Slack-Signature")
        base = b"v0:" + ts.encode() + b":" + body
        _same("v0=" + hmac.new(secret, base, hashlib.sha256).hexdigest(), given)
        _fresh(ts, now, config.tolerance)

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        return frozenset({"x-slack-signature", "x-slack-request-timestamp"})


class Shopify(SignatureScheme):
    """``X-Shopify-Hmac-Sha256: <base64 HMAC-SHA256 of the body>``."""

    key = "shopify"
    title = "Shopify"
    description = "X-Shopify-Hmac-Sha256 (HMAC-SHA256 of the body, base64)."
    dedupe_key = 'headers."x-shopify-webhook-id"'

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        given = _header(headers, "X-Shopify-Hmac-Sha256")
        _same(base64.b64encode(_mac(secret, body)), given.strip())

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        return frozenset({"x-shopify-hmac-sha256"})


class HmacConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    header: str = Field("X-Signature", min_length=1, max_length=100, title="Signature header")
    algorithm: Literal["sha1", "sha256", "sha512"] = Field("sha256", title="Hash algorithm")
    encoding: Literal["hex", "base64"] = Field("hex", title="Signature encoding")
    prefix: str = Field("", max_length=40, title="Prefix",
                        description="Text before the signature, e.g. `sha256=`.")
    timestamp_header: str | None = Field(None, max_length=100, title="Timestamp header",
                                         description="Header with the UNIX time that is signed.")
    signed_payload: str = Field("{body}", max_length=100, title="Signed payload",
                                description="What is signed; `{timestamp}` and `{body}` "
                                "are replaced, e.g. `{timestamp}.{body}`.")
    tolerance: float = Field(300.0, ge=1, le=86400, title="Tolerance (s)",
                             description="How old the timestamp may be.")


class GenericHmac(SignatureScheme):
    """Any app that signs the body (optionally with a timestamp) with a shared secret."""

    key = "hmac"
    title = "Generic HMAC"
    description = "Configurable header, algorithm, prefix, hex/base64 and optional timestamp."
    Config = HmacConfig

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        assert isinstance(config, HmacConfig)
        given = _header(headers, config.header)
        ts = _header(headers, config.timestamp_header) if config.timestamp_header else ""
        head, _, tail = config.signed_payload.partition("{body}")
        message = (head.replace("{timestamp}", ts).encode() + body
                   + tail.replace("{timestamp}", ts).encode())
        mac = _mac(secret, message, config.algorithm)
        text = mac.hex() if config.encoding == "hex" else base64.b64encode(mac).decode()
        if config.encoding == "hex":
            given = given.lower()
        _same(config.prefix + text, given.strip())
        if config.timestamp_header:
            _fresh(ts, now, config.tolerance)

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        assert isinstance(config, HmacConfig)
        names = {config.header.lower()}
        if config.timestamp_header:
            names.add(config.timestamp_header.lower())
        return frozenset(names)


class TokenConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    header: str = Field("X-Webhook-Token", min_length=1, max_length=100, title="Header")
    prefix: str = Field("", max_length=40, title="Prefix", description="e.g. `Bearer `.")


class HeaderToken(SignatureScheme):
    """A shared token sent as-is in a header (GitLab's ``X-Gitlab-Token`` style)."""

    key = "token"
    title = "Header token"
    description = "A shared secret token in a request header."
    Config = TokenConfig

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        assert isinstance(config, TokenConfig)
        _same(config.prefix.encode() + secret, _header(headers, config.header).encode())

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        assert isinstance(config, TokenConfig)
        return frozenset({config.header.lower()})


class BasicConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=200, title="User name",
                          description="The connection's secret is the password.")


class BasicAuth(SignatureScheme):
    """HTTP basic auth: ``Authorization: Basic base64(user:password)``."""

    key = "basic"
    title = "Basic auth"
    description = "HTTP basic authentication; the connection secret is the password."
    Config = BasicConfig

    def verify(self, *, body: bytes, headers: dict[str, str], secret: bytes,
               config: BaseModel, now: float) -> None:
        assert isinstance(config, BasicConfig)
        scheme, _, value = _header(headers, "Authorization").partition(" ")
        if scheme.lower() != "basic":
            raise bad("expected basic authorization")
        try:
            given = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise bad("malformed basic authorization") from None
        _same(config.username.encode() + b":" + secret, given)

    def signature_headers(self, config: BaseModel) -> frozenset[str]:
        return frozenset({"authorization"})
