"""The ``email`` connector: SMTP credentials and ``email.send`` (text and/or HTML, cc, bcc,
reply-to; the ``Message-ID`` derives from the step's idempotency key, so a retried step
sends the same message id)."""

from __future__ import annotations

import hashlib
import re
from email.message import EmailMessage
from email.utils import formataddr, formatdate
from typing import Literal

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from hub import (
    Action,
    CannotConnect,
    Connector,
    Credentials,
    InvalidCredentials,
    StepContext,
    StepError,
)

from .smtp import send, session

ADDRESS = re.compile(r"^[^@\s<>,;:\"()\[\]\\]{1,64}@[A-Za-z0-9.-]{1,253}$")
BODY_LIMIT = 1_000_000


def _address(value: str) -> str:
    if not ADDRESS.match(value):
        raise ValueError(f"not an email address: {value[:100]!r}")
    return value


class SmtpCredentials(Credentials):
    host: str = Field(title="SMTP server", max_length=253, examples=["smtp.example.com"])
    port: int = Field(587, ge=1, le=65535, title="Port",
                      description="587 for STARTTLS, 465 for TLS, 25 for plain.")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls", title="Security", description="`starttls` (required, not opportunistic), "
        "`tls` (implicit, port 465) or `none` (only on a trusted network).")
    username: str | None = Field(None, max_length=500, title="User name")
    password: SecretStr | None = Field(None, title="Password")
    from_address: str = Field(title="From address", max_length=320,
                              examples=["robot@example.com"])
    ca_cert: str | None = Field(None, max_length=20000, title="CA certificate (PEM)",
                                description="For a server whose certificate a private CA "
                                "signed.", json_schema_extra={"format": "multiline"})
    timeout: float = Field(30.0, gt=0, le=120, title="Timeout (s)")

    _from = field_validator("from_address")(_address)


class SendInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: list[str] = Field(min_length=1, max_length=50, title="To")
    cc: list[str] = Field(default_factory=list, max_length=50, title="Cc")
    bcc: list[str] = Field(default_factory=list, max_length=50, title="Bcc")
    subject: str = Field(max_length=998, title="Subject")
    text: str = Field("", max_length=BODY_LIMIT, title="Text body",
                      json_schema_extra={"format": "multiline"})
    html: str = Field("", max_length=BODY_LIMIT, title="HTML body",
                      json_schema_extra={"format": "multiline"})
    reply_to: str | None = Field(None, max_length=320, title="Reply-To")
    from_name: str = Field("", max_length=200, title="Sender name")

    @field_validator("to", "cc", "bcc")
    @classmethod
    def _addresses(cls, values: list[str]) -> list[str]:
        return [_address(v) for v in values]

    _reply = field_validator("reply_to")(lambda v: v if v is None else _address(v))

    @model_validator(mode="after")
    def _body(self) -> SendInput:
        if not self.text and not self.html:
            raise ValueError("give a text or an HTML body")
        if any(c in self.subject + self.from_name for c in "\r\n"):
            raise ValueError("the subject and sender name are one line each")
        return self


class SendOutput(BaseModel):
    message_id: str = Field(title="Message-ID")
    accepted: list[str] = Field(title="Accepted recipients")
    refused: dict[str, str] = Field(title="Refused recipients",
                                    description="Address → the server's answer.")


def build(payload: SendInput, creds: SmtpCredentials, key: str) -> EmailMessage:
    """The message: multipart/alternative when both bodies are given."""
    msg = EmailMessage()
    msg["From"] = formataddr((payload.from_name, creds.from_address))
    msg["To"] = ", ".join(payload.to)
    if payload.cc:
        msg["Cc"] = ", ".join(payload.cc)
    if payload.reply_to:
        msg["Reply-To"] = payload.reply_to
    msg["Subject"] = payload.subject
    msg["Date"] = formatdate(usegmt=True)
    domain = creds.from_address.rpartition("@")[2]
    msg["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:40]}@{domain}>"
    if payload.text:
        msg.set_content(payload.text)
        if payload.html:
            msg.add_alternative(payload.html, subtype="html")
    else:
        msg.set_content(payload.html, subtype="html")
    return msg


class Send(Action):
    key = "send"
    title = "Send an email"
    description = "Sends a message over the connection's SMTP server."
    Input = SendInput
    Output = SendOutput

    async def run(self, payload: SendInput, ctx: StepContext) -> SendOutput:
        if not isinstance(ctx.creds, SmtpCredentials):
            raise StepError("the step needs an email connection", code="no_connection",
                            retryable=False)
        message = build(payload, ctx.creds, ctx.idempotency_key)
        recipients = list(dict.fromkeys(payload.to + payload.cc + payload.bcc))
        async with session(ctx.creds, ctx.http) as smtp:
            refused = await send(smtp, ctx.creds, message, recipients)
        return SendOutput(message_id=str(message["Message-ID"]),
                          accepted=[r for r in recipients if r not in refused], refused=refused)


class Email(Connector):
    key = "email"
    title = "Email (SMTP)"
    description = "Send email through an SMTP server."
    Credentials = SmtpCredentials
    actions = (Send,)

    async def check(self, creds: Credentials, http: httpx.AsyncClient) -> None:
        """Connect, secure the session and log in."""
        if not isinstance(creds, SmtpCredentials):
            raise InvalidCredentials("expected SMTP credentials")
        try:
            async with session(creds, http):
                pass
        except StepError as exc:
            if exc.code == "invalid_auth":
                raise InvalidCredentials(exc.message) from None
            raise CannotConnect(exc.message) from None
