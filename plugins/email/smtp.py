"""An SMTP session under the hub's egress policy: the server's name is resolved and checked
once (``hub.resolve_egress``, so internal servers need ``HUB_EGRESS_ALLOW``), a socket is
opened to a checked address, and aiosmtplib speaks SMTP over it (TLS still verifies the
server's name). SMTP failures become stable step error codes."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any

import httpcore
import httpx

from hub import StepError, resolve_egress

if TYPE_CHECKING:
    from .connector import SmtpCredentials


def tls_context(creds: SmtpCredentials) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if creds.ca_cert:
        try:
            context.load_verify_locations(cadata=creds.ca_cert)
        except (ssl.SSLError, ValueError) as exc:
            raise StepError(f"the CA certificate cannot be read: {exc}", code="invalid_input",
                            retryable=False) from None
    return context


async def _socket(addresses: list[str], port: int, timeout: float) -> socket.socket:
    loop = asyncio.get_running_loop()
    error: OSError | None = None
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            async with asyncio.timeout(timeout):
                await loop.sock_connect(sock, (address, port))
            return sock
        except (OSError, TimeoutError) as exc:
            sock.close()
            error = exc if isinstance(exc, OSError) else OSError(f"timed out: {address}")
    raise error or OSError("no address to connect to")


def _unavailable(creds: SmtpCredentials, why: str) -> StepError:
    return StepError(f"the mail server {creds.host}:{creds.port} cannot be reached: {why}",
                     code="provider_unavailable", retryable=True)


@contextlib.asynccontextmanager
async def session(creds: SmtpCredentials, http: httpx.AsyncClient | None
                  ) -> AsyncIterator[Any]:
    """A connected (and logged in) ``aiosmtplib.SMTP`` client; errors mapped."""
    import aiosmtplib

    try:
        addresses = await resolve_egress(http, creds.host, creds.port)
        sock = await _socket(addresses, creds.port, creds.timeout)
    except (OSError, httpcore.ConnectError) as exc:  # no such name, refused, timed out
        raise _unavailable(creds, str(exc) or type(exc).__name__) from None
    smtp = aiosmtplib.SMTP(hostname=creds.host, sock=sock, timeout=creds.timeout,
                           use_tls=creds.security == "tls",
                           start_tls=creds.security == "starttls",
                           tls_context=tls_context(creds))
    try:
        with mapped(creds):
            await smtp.connect()
            if creds.username:
                password = creds.password.get_secret_value() if creds.password else ""
                await smtp.login(creds.username, password)
        yield smtp
    finally:
        await _close(smtp, sock)


async def _close(smtp: Any, sock: socket.socket) -> None:
    """Quit, then abort the transport (an SSL one would otherwise wait for the peer's
    close_notify while the loop still watches the descriptor the next connection reuses)."""
    transport = smtp.transport
    if smtp.is_connected:
        with contextlib.suppress(Exception):
            await smtp.quit()
    if transport is not None:
        transport.abort()
    await asyncio.sleep(0)  # let a closing transport release the socket first
    sock.close()


def _refusal(refused: dict[str, Any]) -> StepError:
    codes = {getattr(e, "code", 550) for e in refused.values()}
    detail = "; ".join(f"{a}: {getattr(e, 'code', '')} {getattr(e, 'message', e)}"
                       for a, e in refused.items())
    temporary = all(400 <= c < 500 for c in codes)
    return StepError(f"the mail server refused every recipient ({detail})",
                     code="recipient_refused", retryable=temporary)


@contextlib.contextmanager
def mapped(creds: SmtpCredentials) -> Any:
    import aiosmtplib

    try:
        yield
    except aiosmtplib.SMTPAuthenticationError as exc:
        raise StepError(f"the mail server refused the login ({exc.code})",
                        code="invalid_auth", retryable=False) from None
    except aiosmtplib.SMTPRecipientsRefused as exc:
        raise _refusal({r.recipient: r for r in exc.recipients}) from None
    except aiosmtplib.SMTPTimeoutError:
        raise StepError("the mail server did not answer in time", code="timeout",
                        retryable=True) from None
    except aiosmtplib.SMTPResponseException as exc:
        temporary = 400 <= exc.code < 500
        raise StepError(f"the mail server answered {exc.code} {exc.message}",
                        code="provider_unavailable" if temporary else "provider_error",
                        retryable=temporary) from None
    except (ssl.SSLError, ssl.CertificateError) as exc:
        raise StepError(f"TLS with the mail server failed: {exc}", code="tls_failed",
                        retryable=False) from None
    except (aiosmtplib.SMTPConnectError, aiosmtplib.SMTPServerDisconnected, OSError) as exc:
        if isinstance(exc.__cause__, ssl.SSLError):  # aiosmtplib wraps handshake failures
            raise StepError(f"TLS with the mail server failed: {exc.__cause__}",
                            code="tls_failed", retryable=False) from None
        raise _unavailable(creds, str(exc) or type(exc).__name__) from None
    except aiosmtplib.SMTPException as exc:  # e.g. STARTTLS or AUTH not offered: settings
        raise StepError(f"the mail server cannot be used so: {exc}", code="provider_error",
                        retryable=False) from None


async def send(smtp: Any, creds: SmtpCredentials, message: EmailMessage,
               recipients: list[str]) -> dict[str, str]:
    """Send; the recipients the server refused (the others got the message)."""
    with mapped(creds):
        refused, _ = await smtp.send_message(message, recipients=recipients)
    return {address: f"{err[0]} {err[1]}" for address, err in refused.items()}
