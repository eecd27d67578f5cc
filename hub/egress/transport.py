"""Connection layer of the egress client: resolve once, check, connect to the checked address.

Both transports plug in below ``httpx.AsyncHTTPTransport`` (as its connection pool), so httpx
builds requests and maps errors as usual and ``pytest-httpx`` still intercepts mocked calls.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import aiohttp
import httpcore
import httpx
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from hub.egress import Backend, EgressPolicy, literal_ip, resolve


class CheckedTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` over a checking connection pool."""

    def __init__(self, pool: Any) -> None:  # noqa: D107 - the pool is all it needs
        self._pool = pool


class CheckedBackend(httpcore.AsyncNetworkBackend):
    """httpcore network backend: resolve and check, then connect to a checked IP."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        error: Exception | None = None
        for address in await resolve(host, port, self._policy):
            try:
                return await self._inner.connect_tcp(address, port, timeout, local_address,
                                                     socket_options)
            except httpcore.ConnectError as exc:
                error = exc
        raise error or httpcore.ConnectError(f"cannot connect to {host}")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("unix sockets are not used for outbound calls")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


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


class AiohttpPool:
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

    async def __aenter__(self) -> AiohttpPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def build(policy: EgressPolicy, *, backend: Backend, limits: httpx.Limits) -> CheckedTransport:
    """A checking transport over aiohttp or httpcore."""
    if backend == "aiohttp":
        return CheckedTransport(AiohttpPool(policy, limits))
    pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, network_backend=CheckedBackend(policy))
    return CheckedTransport(pool)
