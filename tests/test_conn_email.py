"""``email.send`` against a real SMTP server (aiosmtpd) on loopback: plain, STARTTLS and
implicit TLS with a private CA, multipart bodies, auth failure, refused recipients, and the
egress policy that SMTP shares with HTTP."""

from __future__ import annotations

import datetime
import email
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from connhelp import client, ctx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from hub_plugins.email.connector import Email, Send, SmtpCredentials

from hub import CannotConnect, InvalidCredentials, StepError
from hub.testing import check_connector

ALLOW = "127.0.0.1/32"


def test_contract() -> None:
    check_connector(Email)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], email.message.Message]] = []

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          options: Any) -> str:
        if address.startswith("nobody@"):
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        if address.startswith("busy@"):
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append((list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


def _authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                   data: Any) -> AuthResult:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"robot", b"pw")
    return AuthResult(success=ok, handled=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    """A server context with a self-signed certificate for 127.0.0.1, and its PEM."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zaphub test mail")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    folder: Path = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_text(pem)
    (folder / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context, pem


def _server(mode: str, tls: tuple[ssl.SSLContext, str]) -> tuple[Controller, Inbox]:
    inbox, port = Inbox(), _free_port()
    kwargs: dict[str, Any] = {"authenticator": _authenticator}
    if mode == "starttls":
        kwargs |= {"tls_context": tls[0], "require_starttls": True}
    elif mode == "tls":
        kwargs |= {"ssl_context": tls[0], "server_hostname": "127.0.0.1",
                   "auth_require_tls": False}  # aiosmtpd does not see implicit TLS
    else:
        kwargs |= {"auth_require_tls": False}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    return controller, inbox


@pytest.fixture(params=["none", "starttls", "tls"])
def smtp(request: pytest.FixtureRequest,
         tls: tuple[ssl.SSLContext, str]) -> Iterator[tuple[SmtpCredentials, Inbox]]:
    controller, inbox = _server(request.param, tls)
    creds = SmtpCredentials(host="127.0.0.1", port=controller.port, security=request.param,
                            username="robot", password="pw", from_address="robot@example.com",
                            ca_cert=tls[1] if request.param != "none" else None, timeout=5)
    try:
        yield creds, inbox
    finally:
        controller.stop()


async def send(creds: SmtpCredentials, allow: str = ALLOW, **payload: Any) -> dict[str, Any]:
    data = {"to": ["ada@example.com"], "subject": "Hello", "text": "Hi Ada"} | payload
    async with client(allow) as http:
        out = await Send().run(Send.Input.model_validate(data), ctx(creds, http))
    return out.model_dump()


async def test_send_multipart_with_cc_bcc_reply_to(smtp: tuple[SmtpCredentials, Inbox]) -> None:
    creds, inbox = smtp
    out = await send(creds, cc=["bob@example.com"], bcc=["audit@example.com"],
                     html="<p>Hi <b>Ada</b></p>", reply_to="help@example.com",
                     from_name="Support Robot")
    assert out["accepted"] == ["ada@example.com", "bob@example.com", "audit@example.com"]
    rcpts, msg = inbox.messages[-1]
    assert rcpts == out["accepted"] and msg["Bcc"] is None
    assert msg["From"] == "Support Robot <robot@example.com>" and msg["Cc"] == "bob@example.com"
    assert msg["Reply-To"] == "help@example.com" and msg["Message-ID"] == out["message_id"]
    assert msg.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in msg.get_payload()]
    assert parts == ["text/plain", "text/html"]
    again = await send(creds)  # the same step key: the same Message-ID
    assert again["message_id"] == out["message_id"]


async def test_auth_failure(smtp: tuple[SmtpCredentials, Inbox]) -> None:
    creds, _ = smtp
    bad = SmtpCredentials.model_validate(creds.model_dump() | {"password": "wrong"})
    with pytest.raises(StepError) as info:
        await send(bad)
    assert (info.value.code, info.value.retryable) == ("invalid_auth", False)
    async with client(ALLOW) as http:
        with pytest.raises(InvalidCredentials):
            await Email().check(bad, http)
        await Email().check(creds, http)


async def test_refused_recipients(smtp: tuple[SmtpCredentials, Inbox]) -> None:
    creds, inbox = smtp
    with pytest.raises(StepError, match="User unknown") as info:
        await send(creds, to=["nobody@example.com"])
    assert (info.value.code, info.value.retryable) == ("recipient_refused", False)
    with pytest.raises(StepError) as info:
        await send(creds, to=["busy@example.com"])
    assert (info.value.code, info.value.retryable) == ("recipient_refused", True)
    out = await send(creds, to=["ada@example.com", "nobody@example.com"])
    assert out["accepted"] == ["ada@example.com"] and "nobody@example.com" in out["refused"]
    assert inbox.messages[-1][0] == ["ada@example.com"]


async def test_loopback_needs_the_operator_allowance(tls: tuple[ssl.SSLContext, str]) -> None:
    controller, inbox = _server("none", tls)
    try:
        creds = SmtpCredentials(host="127.0.0.1", port=controller.port, security="none",
                                from_address="robot@example.com")
        with pytest.raises(StepError) as info:
            await send(creds, allow="")
        assert info.value.code == "egress_denied"
        assert "HUB_EGRESS_ALLOW=127.0.0.1/32" in info.value.message
        assert inbox.messages == []
    finally:
        controller.stop()


async def test_tls_failures(tls: tuple[ssl.SSLContext, str]) -> None:
    controller, _ = _server("tls", tls)
    try:  # the server's certificate is not from a CA the client trusts
        creds = SmtpCredentials(host="127.0.0.1", port=controller.port, security="tls",
                                from_address="robot@example.com", timeout=5)
        with pytest.raises(StepError) as info:
            await send(creds)
        assert (info.value.code, info.value.retryable) == ("tls_failed", False), info.value
    finally:
        controller.stop()
    plain, _ = _server("none", tls)
    try:  # STARTTLS required but not offered
        creds = SmtpCredentials(host="127.0.0.1", port=plain.port, security="starttls",
                                from_address="robot@example.com", timeout=5)
        with pytest.raises(StepError, match="STARTTLS") as info:
            await send(creds)
        assert (info.value.code, info.value.retryable) == ("provider_error", False)
    finally:
        plain.stop()


async def test_unreachable_server() -> None:
    creds = SmtpCredentials(host="127.0.0.1", port=_free_port(), security="none",
                            from_address="robot@example.com", timeout=2)
    with pytest.raises(StepError) as info:
        await send(creds)
    assert (info.value.code, info.value.retryable) == ("provider_unavailable", True)
    async with client(ALLOW) as http:
        with pytest.raises(CannotConnect):
            await Email().check(creds, http)


@pytest.mark.parametrize("payload,message", [
    ({"to": ["not-an-address"]}, "not an email address"),
    ({"to": ["a@b.c\r\nBcc: x@y.z"]}, "not an email address"),
    ({"subject": "a\r\nBcc: x@y.z"}, "one line"),
    ({"text": ""}, "text or an HTML body")])
def test_hostile_input(payload: dict[str, Any], message: str) -> None:
    data = {"to": ["ada@example.com"], "subject": "s", "text": "t"} | payload
    with pytest.raises(ValueError, match=message):
        Send.Input.model_validate(data)
