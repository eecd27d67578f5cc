"""The shared outbound HTTP client (httpx API) that refuses internal addresses.

Every outbound call from a plugin goes through :class:`EgressClient`. By default it refuses
loopback, private, link-local (incl. cloud metadata), CGNAT, multicast, reserved and unspecified
addresses, IPv4 and IPv6 alike (IPv4-mapped, 6to4 and NAT64 forms are unwrapped first).

The address check sits at connection time, after DNS resolution: the resolver returns only the
addresses that passed, and the connection is opened to exactly those (no second lookup, so a
DNS answer that changes between check and connect cannot slip through). Redirects are followed
here, one hop at a time (at most 10), and every hop goes through the same check plus the
connector's declared ``hosts``. ``HUB_EGRESS_ALLOW`` (CIDRs and host names, ``*.corp.example``
allowed) opens what an operator wants.

Two transports implement the connection step: aiohttp with a checking resolver (the default,
chosen by ``bench/egress.py``) and httpcore with a checking network backend. Both sit below
``httpx.AsyncHTTPTransport`` so ``pytest-httpx`` mocks keep working unchanged.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import TYPE_CHECKING, Any, Literal

import httpx

from hub.errors import HubError, StepError

if TYPE_CHECKING:
    from hub.zaps import CompiledStep

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Backend = Literal["aiohttp", "httpcore"]
MAX_REDIRECTS = 10
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_RE = re.compile(r"^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9_-]{1,63}$")


class EgressDenied(StepError):
    """An outbound call to an address or host the hub does not allow. Never retryable."""

    code = "egress_denied"
    status = 403

    def __init__(self, message: str) -> None:
        super().__init__(message, code="egress_denied", retryable=False)


def _unwrap(ip: IP) -> IP:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip.sixtofour is not None:
            return ip.sixtofour
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def is_internal(ip: IP) -> bool:
    """True for any address that is not plainly public unicast."""
    ip = _unwrap(ip)
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def host_matches(host: str, patterns: Iterable[str]) -> bool:
    """``host`` equals a pattern, or is a subdomain of a ``*.example.com`` pattern."""
    host = host.lower().rstrip(".")
    for pattern in patterns:
        if pattern.startswith("*."):
            if host.endswith(pattern[1:]):
                return True
        elif host == pattern:
            return True
    return False


@dataclass(frozen=True)
class EgressPolicy:
    """What the operator opened: networks (CIDRs) and host names."""

    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    names: tuple[str, ...] = ()

    @classmethod
    def parse(cls, value: str | None) -> EgressPolicy:
        """Parse ``HUB_EGRESS_ALLOW``; a bad entry raises ``HubError(invalid_setting)``."""
        networks, names = [], []
        for raw in (value or "").split(","):
            entry = raw.strip().lower()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
                continue
            except ValueError:
                pass
            if not _HOST_RE.match(entry):
                raise HubError(f"HUB_EGRESS_ALLOW: {entry!r} is neither a CIDR nor a host name",
                               code="invalid_setting")
            names.append(entry)
        return cls(tuple(networks), tuple(names))

    def name_allowed(self, host: str) -> bool:
        return bool(self.names) and host_matches(host, self.names)

    def address_allowed(self, ip: IP) -> bool:
        if any(ip in net or _unwrap(ip) in net for net in self.networks):
            return True
        return not is_internal(ip)

    def check(self, host: str, addresses: Iterable[str]) -> list[str]:
        """The addresses of ``host`` that may be connected to; raise if there is none."""
        addresses = list(addresses)
        if self.name_allowed(host):
            return addresses
        ok = [a for a in addresses if self.address_allowed(_parse_ip(a))]
        if not ok:
            raise EgressDenied(f"outbound call to {host} refused: internal address "
                               f"({allow_hint(host, addresses)})")
        return ok


def allow_hint(host: str, addresses: Iterable[str]) -> str:
    """How an operator opens ``host`` (e.g. a service on their own network)."""
    if literal_ip(host) is None:
        what = host.lower().rstrip(".")
    else:
        ip = _parse_ip(next(iter(addresses), host.strip("[]")))
        what = f"{ip}/{ip.max_prefixlen}"
    return f"an operator can allow it with HUB_EGRESS_ALLOW={what}"


def _parse_ip(text: str) -> IP:
    return ipaddress.ip_address(text.split("%", 1)[0])


def literal_ip(host: str) -> IP | None:
    try:
        return _parse_ip(host.strip("[]"))
    except ValueError:
        return None


async def resolve(host: str, port: int, policy: EgressPolicy) -> list[str]:
    """Resolve ``host`` once and return only the addresses the policy allows."""
    if literal_ip(host) is not None:
        return policy.check(host, [host.strip("[]")])
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        import httpcore

        raise httpcore.ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    return policy.check(host, dict.fromkeys(info[4][0] for info in infos))


def _no_cookies() -> httpx.Cookies:
    # One client serves every workspace: never carry a cookie from one call to the next.
    return httpx.Cookies(CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])))


def _redirect(request: httpx.Request, response: httpx.Response) -> httpx.Request:
    url = request.url.join(response.headers["location"])
    if url.scheme not in ("http", "https"):
        raise EgressDenied(f"redirect to a {url.scheme!r} URL refused")
    method, status = request.method, response.status_code
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method = "GET"
    headers = httpx.Headers(request.headers)
    for name in ("host", "cookie"):
        headers.pop(name, None)
    if (url.scheme, url.host, url.port) != (request.url.scheme, request.url.host,
                                            request.url.port):
        # credentials stay with their origin: Authorization, and the headers a plugin named
        # in the request's "sensitive_headers" extension (e.g. an API key header)
        for name in ("authorization", *request.extensions.get("sensitive_headers", ())):
            headers.pop(name, None)
    stream = request.stream
    if method != request.method:
        stream = None
        for name in ("content-length", "transfer-encoding", "content-type"):
            headers.pop(name, None)
    headers["host"] = url.netloc.decode("ascii")
    return httpx.Request(method, url, headers=headers, stream=stream,
                         extensions=request.extensions)


class EgressClient(httpx.AsyncClient):
    """``httpx.AsyncClient`` that checks every hop; ``for_hosts`` gives a restricted view."""

    def __init__(self, transport: httpx.AsyncBaseTransport, *, hosts: tuple[str, ...] = (),
                 timeout: float = 30.0, owns_transport: bool = True,
                 policy: EgressPolicy | None = None) -> None:
        super().__init__(transport=transport, timeout=timeout, follow_redirects=False,
                         max_redirects=MAX_REDIRECTS, trust_env=False, cookies=_no_cookies())
        self.hosts = tuple(h.lower() for h in hosts)
        self.policy = policy or EgressPolicy()
        self._owns_transport = owns_transport
        self._shared = transport
        self._views: dict[tuple[str, ...], EgressClient] = {}

    def for_hosts(self, hosts: Iterable[str]) -> EgressClient:
        """A client sharing this one's connections that may call only ``hosts``."""
        key = tuple(sorted(h.lower() for h in hosts))
        if not key:
            return self
        view = self._views.get(key)
        if view is None:
            view = self._views[key] = EgressClient(
                self._shared, hosts=key, timeout=self.timeout.read or 30.0,
                owns_transport=False, policy=self.policy)
        return view

    def _check_host(self, url: httpx.URL) -> None:
        if url.scheme not in ("http", "https"):
            raise EgressDenied(f"{url.scheme!r} URLs are not allowed")
        if self.hosts and not host_matches(url.host, self.hosts):
            raise EgressDenied(f"outbound call to {url.host} refused: not among the "
                               f"connector's hosts")

    async def send(self, request: httpx.Request, *, stream: bool = False,
                   auth: Any = httpx.USE_CLIENT_DEFAULT,
                   follow_redirects: Any = httpx.USE_CLIENT_DEFAULT) -> httpx.Response:
        follow = (self.follow_redirects if follow_redirects is httpx.USE_CLIENT_DEFAULT
                  else follow_redirects)
        history: list[httpx.Response] = []
        while True:
            self._check_host(request.url)
            response = await super().send(request, stream=True, follow_redirects=False,
                                          auth=auth if not history else None)
            response.history = list(history)
            if not (follow and response.has_redirect_location):
                break
            if len(history) >= self.max_redirects:
                await response.aclose()
                raise httpx.TooManyRedirects("too many redirects", request=request)
            await response.aread()
            history.append(response)
            request = _redirect(request, response)
        if not stream:
            try:
                await response.aread()
            finally:
                await response.aclose()
        return response

    async def aclose(self) -> None:
        if self._owns_transport:
            await super().aclose()


def create_client(policy: EgressPolicy, *, backend: Backend = "aiohttp",
                  timeout: float = 30.0, max_connections: int = 100) -> EgressClient:
    """The hub's shared outbound client over the chosen transport."""
    from hub.egress import transport as egress_transport

    limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=20)
    transport = egress_transport.build(policy, backend=backend, limits=limits)
    return EgressClient(transport, timeout=timeout, policy=policy)


async def resolve_egress(http: httpx.AsyncClient | None, host: str, port: int) -> list[str]:
    """The addresses of ``host`` a plugin may open a socket to, for protocols that do not go
    through ``ctx.http`` (SMTP ...): the same policy as the HTTP client (``HUB_EGRESS_ALLOW``
    and the connector's ``hosts``). Connect to one of them, never to ``host`` again.

    Raises ``EgressDenied`` (``egress_denied``, with the ``HUB_EGRESS_ALLOW`` hint for an
    internal address) or ``httpcore.ConnectError`` when the name does not resolve.
    """
    policy, hosts = EgressPolicy(), ()
    if isinstance(http, EgressClient):  # any other client: the strict default policy
        policy, hosts = http.policy, http.hosts
    if hosts and not host_matches(host, hosts):
        raise EgressDenied(f"outbound call to {host} refused: not among the connector's hosts")
    return await resolve(host, port, policy)


def client_from_settings(settings: Any) -> EgressClient:
    return create_client(EgressPolicy.parse(getattr(settings, "egress_allow", None)))


def step_http(http: httpx.AsyncClient | None, registry: Any,
              cs: CompiledStep) -> httpx.AsyncClient | None:
    """The client a step gets: the shared ``http``, restricted to the ``hosts`` its connector
    (looked up in ``registry``) declares."""
    if not isinstance(http, EgressClient):
        return http
    connector = registry.connector_of(cs.step.use)
    return http.for_hosts(getattr(connector, "hosts", ()))
