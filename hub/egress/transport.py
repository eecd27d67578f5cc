"""Connection layer of the egress client: resolve once, check, connect to the checked address.

Both transports plug in below ``httpx.AsyncHTTPTransport`` (as its connection pool), so httpx
builds requests and maps errors as usual and ``pytest-httpx`` still intercepts mocked calls.
"""

from __future__ import annotations

from typing import Any

import httpcore
import httpx

from hub.egress import Backend, EgressPolicy, resolve


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


class AiohttpPool:
    """An httpcore-shaped pool over aiohttp, loaded on the first request
    (``hub.egress.aiohttp_pool``)."""

    def __init__(self, policy: EgressPolicy, limits: httpx.Limits) -> None:
        self._policy, self._limits = policy, limits
        self._impl: Any = None

    async def handle_async_request(self, request: httpcore.Request) -> httpcore.Response:
        if self._impl is None:
            from hub.egress.aiohttp_pool import AiohttpSessionPool

            self._impl = AiohttpSessionPool(self._policy, self._limits)
        return await self._impl.handle_async_request(request)

    async def __aenter__(self) -> AiohttpPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._impl is not None:
            await self._impl.aclose()


def build(policy: EgressPolicy, *, backend: Backend, limits: httpx.Limits) -> CheckedTransport:
    """A checking transport over aiohttp or httpcore."""
    if backend == "aiohttp":
        return CheckedTransport(AiohttpPool(policy, limits))
    pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(), max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry, network_backend=CheckedBackend(policy))
    return CheckedTransport(pool)
