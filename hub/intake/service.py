"""The webhook intake: hook lookup (cached), limits, signature, dedupe, durable accept."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jmespath
import sqlalchemy as sa
from jmespath.parser import ParsedResult
from prometheus_client import Counter
from pydantic import BaseModel

from hub.errors import BadRequest, HubError, Unauthorized
from hub.expressions import DEDUPE, ExpressionError, check_size, evaluate
from hub.ids import new_id
from hub.intake.ratelimit import SharedRateLimiter
from hub.intake.request import HIDDEN_HEADERS, RateLimiter, parse_body
from hub.intake.store import Event, EventWriter, Outcome
from hub.intake.tables import webhook_hooks
from hub.sdk import SignatureScheme
from hub.store.tables import zap_versions, zaps
from hub.vault.payloads import WorkspaceKeyUnreadable

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable

    from hub.context import Hub

log = logging.getLogger("hub.intake")
KEY_LIMIT = 200
RELOAD_AFTER = 0.5  # seconds a cached secret is trusted before a failure reloads it
KEY_RETRY_AFTER = 60  # seconds senders are asked to wait while a workspace key is unreadable


@dataclass
class Hook:
    """What the intake needs to answer a hook, loaded once and cached."""

    hook_id: str
    workspace_id: str
    zap_id: str
    version: int
    enabled: bool
    config: Any
    scheme: SignatureScheme | None
    scheme_config: BaseModel | None
    hidden: frozenset[str]
    dedupe: ParsedResult | None
    max_body: int
    loaded: float = field(default_factory=time.monotonic)


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    outcome: str = "accepted"


def dedupe_value(expr: ParsedResult | None, data: dict[str, Any]) -> str | None:
    """The dedupe key of a delivery; long keys are hashed; ``None`` when there is none.

    Evaluated within the tight ``DEDUPE`` limits; a key that cannot be computed raises a
    ``BadRequest`` (422) carrying the expression's code (``expression_limit`` ...).
    """
    if expr is None:
        return None
    try:
        value = evaluate(expr, data, DEDUPE)
        if isinstance(value, list | dict):
            check_size(value, "the dedupe key", DEDUPE)
    except ExpressionError as exc:
        raise BadRequest(f"the dedupe key cannot be computed: {exc}", code=exc.code,
                         status=422) from None
    if value is None or value == "":
        return None
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    if len(text) > KEY_LIMIT:
        text = "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


class Intake:
    """One per hub: caches hooks and secrets, counts outcomes, writes events."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.writer = EventWriter(hub)
        self.ttl = hub.settings.hook_cache_ttl
        self._hooks: dict[str, Hook] = {}
        self._secrets: dict[tuple[str, int, str], tuple[list[bytes], float]] = {}
        self._limits: dict[str, RateLimiter] = {}
        self._shared = SharedRateLimiter(hub.db) if hub.db.is_postgres else None
        self._loading: dict[Hashable, asyncio.Task[Any]] = {}
        self._generation = 0  # bumped by ``forget``: a load begun before it is not cached
        self.listeners: list[Callable[[str | None], None]] = []
        self._counted: dict[str, Any] = {}
        self.requests = Counter("hub_webhook_requests", "Webhook requests by outcome",
                                ["outcome"], registry=hub.metrics.registry)
        self.fires = Counter("hub_trigger_fires", "Schedule fires and polled items by outcome",
                             ["kind", "outcome"], registry=hub.metrics.registry)

    def count(self, outcome: str) -> None:
        child = self._counted.get(outcome)
        if child is None:
            child = self._counted[outcome] = self.requests.labels(outcome=outcome)
        child.inc()

    def forget(self, zap_id: str | None = None) -> None:
        """Drop cached hooks and secrets (of one zap, or all) and tell listeners."""
        self._generation += 1
        self._loading.clear()  # later requests must not share a load begun before
        if zap_id is None:
            self._hooks.clear()
            self._secrets.clear()
        else:
            self._hooks = {k: h for k, h in self._hooks.items() if h.zap_id != zap_id}
            self._secrets = {k: v for k, v in self._secrets.items() if k[0] != zap_id}
        for listener in self.listeners:
            listener(zap_id)

    async def close(self) -> None:
        for task in list(self._loading.values()):
            task.cancel()
        await self.writer.close()

    def _load_once(self, key: Hashable, load: Callable[[], Awaitable[Any]],
                   cache: Callable[[Any], None]) -> asyncio.Task[Any]:
        """One load per key at a time: requests arriving meanwhile share it (no stampede of
        identical queries when a cached entry expires under load)."""
        task = self._loading.get(key)
        if task is None:
            generation = self._generation

            async def run() -> Any:
                value = await load()
                if generation == self._generation:
                    cache(value)
                return value

            task = self._loading[key] = asyncio.create_task(run())
            task.add_done_callback(lambda t: self._loaded(key, t))
        return task

    def _loaded(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._loading.get(key) is task:
            del self._loading[key]
        if not task.cancelled() and task.exception() is not None:
            log.warning("intake: reloading a cached %s failed (%s)", key[0],
                        type(task.exception()).__name__)

    def _refresh_early(self, key: Hashable, loaded: float, load: Callable[[], Awaitable[Any]],
                       cache: Callable[[Any], None]) -> None:
        """Past half its lifetime, a cached entry is reloaded in the background, so a steady
        stream of requests never waits for the reload."""
        if time.monotonic() - loaded > self.ttl / 2:
            self._load_once(key, load, cache)

    # --- hooks ----------------------------------------------------------------------------

    async def hook(self, hook_id: str) -> Hook | None:
        """The live, enabled hook, or ``None`` (unknown, disabled or deleted alike)."""
        found = self._hooks.get(hook_id)
        key = ("hook", hook_id)
        if found is None or time.monotonic() - found.loaded > self.ttl:
            found = await asyncio.shield(self._load_once(key, lambda: self._load(hook_id),
                                          lambda h: self._cache_hook(hook_id, h)))
            if found is None:
                return None
        else:
            self._refresh_early(key, found.loaded, lambda: self._load(hook_id),
                                lambda h: self._cache_hook(hook_id, h))
        return found if found.enabled else None

    def _cache_hook(self, hook_id: str, found: Hook | None) -> None:
        if found is None:
            self._hooks.pop(hook_id, None)
        else:
            self._hooks[hook_id] = found

    async def _load(self, hook_id: str) -> Hook | None:
        if len(hook_id) > 64:
            return None
        query = sa.select(webhook_hooks.c.workspace_id, zaps.c.id, zaps.c.enabled,
                          zaps.c.current_version, zap_versions.c.definition).select_from(
            webhook_hooks.join(zaps, zaps.c.id == webhook_hooks.c.zap_id).join(
                zap_versions, (zap_versions.c.zap_id == zaps.c.id)
                & (zap_versions.c.version == zaps.c.current_version))).where(
            webhook_hooks.c.id == hook_id, zaps.c.deleted_at.is_(None))
        async with self.hub.db.read() as conn:
            row = (await conn.execute(query)).first()
        if row is None or row.definition["trigger"]["kind"] != "webhook":
            return None
        return self._build(hook_id, row)

    def _build(self, hook_id: str, row: Any) -> Hook:
        registry = self.hub.registry
        config = registry.trigger_kinds["webhook"].Config.model_validate(
            row.definition["trigger"].get("config") or {})
        scheme = scheme_config = None
        hidden = HIDDEN_HEADERS
        if config.signature:
            cls = registry.signature_schemes[config.signature]
            scheme, scheme_config = cls(), cls.Config.model_validate(config.signature_config)
            hidden = hidden | scheme.signature_headers(scheme_config)
        expr = config.dedupe
        if expr is None and scheme is not None:
            expr = scheme.dedupe_key
        if config.rate_limit and hook_id not in self._limits:
            burst = config.burst or max(1, math.ceil(config.rate_limit))
            self._limits[hook_id] = RateLimiter(config.rate_limit, burst)
        elif not config.rate_limit:
            self._limits.pop(hook_id, None)
        return Hook(hook_id, row.workspace_id, row.id, row.current_version, row.enabled, config,
                    scheme, scheme_config, hidden, jmespath.compile(expr) if expr else None,
                    self.hub.settings.hook_body_limit(config.max_body_bytes))

    async def secrets(self, hook: Hook) -> list[bytes]:
        """The connection's secret (and previous secret while rotating), cached briefly."""
        name = hook.config.connection
        key = (hook.zap_id, hook.version, name)
        cached = self._secrets.get(key)

        def cache(values: list[bytes]) -> None:
            self._secrets[key] = (values, time.monotonic())

        if cached is not None and time.monotonic() - cached[1] <= self.ttl:
            self._refresh_early(("secret", *key), cached[1],
                                lambda: self._load_secrets(hook), cache)
            return cached[0]
        return await asyncio.shield(
            self._load_once(("secret", *key), lambda: self._load_secrets(hook), cache))

    async def _load_secrets(self, hook: Hook) -> list[bytes]:
        from hub.services.connections import get_credentials

        creds = await get_credentials(self.hub, workspace_id=hook.workspace_id,
                                      name=hook.config.connection, connector="webhook_secret")
        values = [creds.secret.get_secret_value().encode()]
        if getattr(creds, "previous_secret", None) is not None:
            values.append(creds.previous_secret.get_secret_value().encode())
        return values

    # --- requests -------------------------------------------------------------------------

    async def limited(self, hook: Hook) -> Answer | None:
        """A 429 answer when the hook's ``rate_limit`` is spent (across all nodes on
        PostgreSQL, ``hub.intake.ratelimit``; in this process on SQLite)."""
        rate = hook.config.rate_limit
        if rate and self._shared is not None:
            burst = hook.config.burst or max(1, math.ceil(rate))
            wait = await self._shared.take(hook.hook_id, rate, burst)
        else:
            limiter = self._limits.get(hook.hook_id)
            wait = limiter.take() if limiter is not None else 0.0
        if not wait:
            return None
        return Answer(429, _problem(429, "rate_limited", "too many requests for this hook"),
                      {"retry-after": str(max(1, math.ceil(wait)))}, "rate_limited")

    async def verify(self, hook: Hook, body: bytes, headers: dict[str, str]) -> None:
        """Raise ``Unauthorized`` unless one of the connection's secrets signed the request.

        A failure with a secret cached for a while reloads the connection once, so a rotated
        secret works at once; a removed one stops working within ``hook_cache_ttl``.
        """
        if hook.scheme is None:
            return
        try:
            self._check(hook, await self.secrets_or_refuse(hook), body, headers)
        except Unauthorized:
            key = (hook.zap_id, hook.version, hook.config.connection)
            cached = self._secrets.get(key)
            if cached is None or time.monotonic() - cached[1] < RELOAD_AFTER:
                raise
            self._secrets.pop(key, None)
            self._check(hook, await self.secrets_or_refuse(hook), body, headers)

    async def secrets_or_refuse(self, hook: Hook) -> list[bytes]:
        try:
            return await self.secrets(hook)
        except HubError as exc:
            log.warning("zap %s: webhook connection '%s' unusable (%s); refusing requests",
                        hook.zap_id, hook.config.connection, exc.code)
            raise Unauthorized("the request could not be verified", code="bad_signature") from None

    def _check(self, hook: Hook, values: list[bytes], body: bytes,
               headers: dict[str, str]) -> None:
        now = time.time()
        error: Unauthorized | None = None
        for secret in values:
            try:
                hook.scheme.verify(body=body, headers=headers, secret=secret,
                                   config=hook.scheme_config, now=now)  # type: ignore[arg-type]
                return
            except Unauthorized as exc:
                error = exc
        assert error is not None
        raise error

    async def accept(self, hook: Hook, *, method: str, headers: dict[str, str],
                     query: dict[str, Any], body: bytes) -> Answer:
        """Verify, parse, dedupe and store one delivery; the answer for the caller."""
        try:
            await self.verify(hook, body, headers)
            data, encoding = parse_body(body, headers, self.hub.settings.max_json_depth)
        except HubError as exc:
            return Answer(exc.status, _problem(exc.status, exc.code, exc.message), {}, exc.code)
        if isinstance(data, dict) and data.get("type") == "url_verification" \
                and isinstance(data.get("challenge"), str):
            return Answer(200, {"challenge": data["challenge"]}, {}, "challenge")
        handshake = getattr(hook.config, "handshake", None)  # an app shorthand's (e.g. ping)
        reply = handshake(headers, data) if handshake is not None else None
        if reply is not None:
            return Answer(200, reply, {}, "handshake")
        shown = {k: v for k, v in headers.items() if k not in hook.hidden}
        trigger: dict[str, Any] = {"method": method, "headers": shown, "query": query,
                                   "body": data}
        if encoding:
            trigger["body_encoding"] = encoding
        try:
            key = dedupe_value(hook.dedupe, {"headers": headers, "body": data, "query": query})
        except HubError as exc:
            return Answer(exc.status, _problem(exc.status, exc.code, exc.message), {}, exc.code)
        try:
            outcome = await self.store(hook, trigger, key)
        except WorkspaceKeyUnreadable:  # logged once, naming the record, where it was found
            return Answer(503, _problem(503, WorkspaceKeyUnreadable.code, "the hub cannot "
                                        "store events of this workspace now; retry later"),
                          {"retry-after": str(KEY_RETRY_AFTER)}, WorkspaceKeyUnreadable.code)
        if outcome.duplicate:
            return Answer(200, {"run_id": outcome.run_id, "duplicate": True}, {}, "duplicate")
        if hook.config.response == "sync":
            from hub.intake.sync import sync_answer

            return await sync_answer(self.hub, hook, outcome.run_id or "")
        return Answer(202, {"run_id": outcome.run_id, "status": "queued"})

    async def store(self, hook: Hook, trigger: dict[str, Any], key: str | None) -> Outcome:
        ws = hook.workspace_id
        await self.hub.payloads.prepare(ws)
        now = time.time()
        run_id = new_id("run")
        return await self.writer.submit(Event(
            "evt" + run_id[3:], run_id, ws, hook.zap_id, hook.version, "webhook", key,
            self.hub.payloads.encode(ws, trigger), now, now + hook.config.dedupe_window))


def _problem(status: int, code: str, detail: str) -> dict[str, Any]:
    return {"type": f"urn:zaphub:problem:{code}", "title": code.replace("_", " "),
            "status": status, "detail": detail, "code": code}


def intake_of(hub: Hub) -> Intake:
    """The hub's intake, created on first use."""
    if hub.intake is None:
        hub.intake = Intake(hub)
    return hub.intake
