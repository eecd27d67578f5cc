"""The aiohttp connection pool of the egress client (the default backend), with a resolver
that returns only addresses the egress policy allows.

Imported on the first outbound request, not at start: aiohttp and the TLS context it builds
at import cost a noticeable part of an idle hub's memory and start-up.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from hub.egress import EgressPolicy, literal_ip, resolve


class CheckedResolver(AbstractResolver):
    """aiohttp resolver that returns only addresses the policy allows."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        addresses = await resolve(host, port, self._policy)
        return [{"hostname": host, "host": a, "port": port,
                 "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST} for a in addresses]

    async def close(self) -> None:
        return None


@contextlib.contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except aiohttp.ConnectionTimeoutError as exc:
        raise httpcore.ConnectTimeout(str(exc)) from exc
    except (aiohttp.ServerTimeoutError, TimeoutError) as exc:
        raise httpcore.ReadTimeout(str(exc) or "timed out") from exc
    except aiohttp.ClientConnectorError as exc:
        raise httpcore.ConnectError(str(exc)) from exc
    except aiohttp.ServerDisconnectedError as exc:
        raise httpcore.RemoteProtocolError(str(exc)) from exc
    except aiohttp.ClientPayloadError as exc:
        raise httpcore.ReadError(str(exc)) from exc
    except aiohttp.ClientError as exc:
        raise httpcore.NetworkError(str(exc)) from exc


class _Body:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self._response = response

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _mapped():
            async for chunk in self._response.content.iter_any():
                yield chunk

    async def aclose(self) -> None:
        self._response.release()


class AiohttpSessionPool:
    """An httpcore-shaped pool over one ``aiohttp.ClientSession`` with a checking resolver."""

    def __init__(self, policy: EgressPolicy, limits: httpx.Limits) -> None:
        self._policy, self._limits = policy, limits
        self._session: aiohttp.ClientSession | None = None

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(
                limit=self._limits.max_connections or 0, resolver=CheckedResolver(self._policy),
                ssl=httpx.create_ssl_context(),
                keepalive_timeout=self._limits.keepalive_expiry or 5.0)
            self._session = aiohttp.ClientSession(
                connector=connector, auto_decompress=False, trust_env=False,
                cookie_jar=aiohttp.DummyCookieJar())
        return self._session

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        host = request.url.host.decode("ascii")
        if literal_ip(host) is not None:  # aiohttp skips the resolver for IP literals
            self._policy.check(host, [host.strip("[]")])
        timeout = request.extensions.get("timeout", {})
        body = b"".join([chunk async for chunk in request.stream])  # type: ignore[union-attr]
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers
                   if k.lower() != b"transfer-encoding"]
        with _mapped():
            response = await self._get_session().request(
                request.method.decode("ascii"), URL(bytes(request.url).decode("ascii"),
                                                    encoded=True),
                headers=headers, data=body or None, allow_redirects=False, compress=None,
                server_hostname=request.extensions.get("sni_hostname"),
                timeout=aiohttp.ClientTimeout(total=None, connect=timeout.get("pool"),
                                              sock_connect=timeout.get("connect"),
                                              sock_read=timeout.get("read")))
        extensions = {"http_version": b"HTTP/1.1",
                      "reason_phrase": (response.reason or "").encode("latin-1")}
        return httpcore.Response(response.status, headers=list(response.raw_headers),
                                 content=_Body(response), extensions=extensions)

    async def __aenter__(self) -> AiohttpSessionPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
