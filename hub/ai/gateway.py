"""``ctx.ai``: routing with recorded fallback, budgets, keys from connections, accounting."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hub.ai import config as aiconf
from hub.ai import usage
from hub.ai.contract import AIGateway, ModelError, ModelRequest, ModelResult
from hub.ai.routing import Choice, plan, prices
from hub.errors import HubError, StepError
from hub.sdk import Model

if TYPE_CHECKING:
    from hub.ai.governance import Governor
    from hub.context import Hub

#: (hub id, workspace, model entry) -> monotonic time until which it is rate limited
_COOLDOWN: dict[tuple[int, str, str], float] = {}
_INSTANCES: dict[type, Model] = {}


@dataclass
class Gateway(AIGateway):
    """One step attempt's route to models; see ``hub.AIGateway``."""

    hub: Hub
    workspace_id: str
    run_id: str
    zap_id: str
    step_id: str
    governor: Governor
    failures: list[dict[str, Any]] = field(default_factory=list)
    policy_name: str | None = None  # the routing policy of the current call (audited)

    async def call(self, request: ModelRequest, *, policy: str | None = None,
                   model: str | None = None) -> ModelResult:
        snap = await aiconf.load(self.hub, self.workspace_id)
        pol, choices, excluded = plan(snap, self.hub.registry, policy=policy, model=model,
                                      request=request, categories=self.governor.categories)
        self.policy_name = pol.name if pol is not None else None
        await usage.check_budgets(self.hub, snap, workspace_id=self.workspace_id,
                                  zap_id=self.zap_id)
        if pol is not None and pol.max_cost_per_run is not None:
            spent = await usage.run_cost(self.hub, self.run_id)
            if spent >= pol.max_cost_per_run:
                raise StepError(f"policy '{pol.name}' allows {pol.max_cost_per_run:g} per run; "
                                f"this run spent {spent:g}", code="budget_exceeded",
                                retryable=False, extra={"scope": "run"})
        last: ModelError | None = None
        for choice in choices:
            try:
                result = await self._try(choice, request)
            except ModelError as exc:
                last = exc
                self.failures.append({"model": choice.entry.name, "code": exc.code})
                continue
            result.decision = self._decision(pol, choice, excluded)
            return result
        raise self._exhausted(last)

    def _decision(self, pol: Any, choice: Choice, excluded: list[str]) -> str:
        how = f"policy '{pol.name}'" if pol is not None else "model named by the step"
        text = f"answered by {choice.entry.name} ({how})"
        if self.failures:
            text += " after " + ", ".join(f"{f['model']} failed: {f['code']}"
                                          for f in self.failures)
        if excluded:
            text += "; skipped " + "; ".join(excluded)
        return text

    def _exhausted(self, last: ModelError | None) -> StepError:
        failed = ", ".join(f"{f['model']} failed: {f['code']}" for f in self.failures)
        code = last.code if last is not None else "provider_error"
        extra: dict[str, Any] = {"attempts": list(self.failures)}
        if last is not None and last.retry_after is not None:
            extra["retry_after"] = last.retry_after
        return StepError(f"no model answered: {failed}", code=code,
                         retryable=last.retryable if last is not None else True, extra=extra)

    async def _try(self, choice: Choice, request: ModelRequest) -> ModelResult:
        entry = choice.entry
        key = (id(self.hub), self.workspace_id, entry.name)
        until = _COOLDOWN.get(key, 0.0)
        if until > time.monotonic():
            raise ModelError(f"{entry.name} is rate limited", code="rate_limited",
                             retry_after=round(until - time.monotonic(), 3))
        api_key = await self._api_key(choice)
        inst = _INSTANCES.get(choice.cls) or _INSTANCES.setdefault(choice.cls, choice.cls())
        conf = choice.cls.Config.model_validate(entry.config)
        started = time.perf_counter()
        try:
            async with asyncio.timeout(entry.timeout):
                result = await inst.call(request, config=conf, api_key=api_key,
                                         http=self.hub.http)
            if not isinstance(result, ModelResult):
                raise ModelError("the provider returned no result", code="invalid_response")
        except TimeoutError:
            err = ModelError(f"{entry.name} did not answer within {entry.timeout:g}s",
                             code="timeout")
            await self._account(choice, None, err.code, started)
            raise err from None
        except ModelError as exc:
            if exc.code == "rate_limited":
                _COOLDOWN[key] = time.monotonic() + (exc.retry_after or 1.0)
            await self._account(choice, None, exc.code, started)
            raise
        result.model = entry.name
        await self._account(choice, result, "ok", started)
        return result

    async def _api_key(self, choice: Choice) -> str | None:
        name = choice.entry.connection
        if name is None:
            if choice.cls.needs_key:
                raise StepError(f"model '{choice.entry.name}' needs a connection with its API "
                                "key", code="missing_connection", retryable=False)
            return None
        from hub.services.connections import get_credentials

        try:
            creds = await get_credentials(self.hub, workspace_id=self.workspace_id, name=name,
                                          run_id=self.run_id)  # the connection's policy
        except HubError as exc:
            raise StepError(exc.message, code=exc.code, retryable=False) from None
        secret = getattr(creds, "api_key", None)
        return secret.get_secret_value() if secret is not None else None

    async def _account(self, choice: Choice, result: ModelResult | None, outcome: str,
                       started: float) -> None:
        latency = round((time.perf_counter() - started) * 1000, 3)
        u = result.usage if result is not None else None
        if u is not None:
            p_in, p_out = prices(choice.entry, choice.cls)
            u.cost = round((u.input_tokens * p_in + u.output_tokens * p_out) / 1000, 8)
            u.latency_ms = u.latency_ms or latency
        await usage.record(self.hub, {
            "workspace_id": self.workspace_id, "run_id": self.run_id, "zap_id": self.zap_id,
            "step_id": self.step_id, "model": choice.entry.name,
            "provider": choice.entry.provider, "outcome": outcome,
            "input_tokens": u.input_tokens if u else 0,
            "output_tokens": u.output_tokens if u else 0,
            "cost": u.cost if u else 0.0, "latency_ms": u.latency_ms if u else latency},
            {"policy": self.policy_name, "fallback_after": [f["model"] for f in self.failures]})
