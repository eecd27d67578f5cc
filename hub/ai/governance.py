"""The governance runner: the workspace's guardrail policy around every governed step.

The engine builds a ``Governor`` for every attempt of a ``hub.AIAction`` (and of every action
when the policy says ``apply_to_actions``). ``before`` checks the validated input before the
action runs (so before any model sees it); ``after`` checks the output before the run context
gets it (so before any later step uses it). A zap has no switch for any of this. Verdicts are
recorded as guardrail, mode, outcome, categories and counts; never the matched text.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from hub.ai import config as aiconf
from hub.errors import StepError
from hub.sdk import Guardrail, Span, Verdict

if TYPE_CHECKING:
    from hub.ai.config import GuardrailRule
    from hub.context import Hub

CHECK_TIMEOUT = 5.0
#: output fields the hub itself adds to AI step outputs; not model-written, not checked
META_KEYS = frozenset({"model", "decision", "usage", "governance", "attempts"})


@dataclass
class _Found:
    rule: GuardrailRule
    verdict: Verdict


@dataclass
class Governor:
    """Guardrails for one step attempt; also what the routing policy reads (``categories``)."""

    hub: Hub
    rules: list[GuardrailRule]
    records: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    categories: set[str] = field(default_factory=set)
    placeholders: dict[tuple[str, str], str] = field(default_factory=dict)
    gateway: Any = None
    check_output: bool = True
    #: input text the guardrails redacted or blocked (kept sealed, masked in run views)
    sensitive: set[str] = field(default_factory=set)

    async def before(self, payload: BaseModel) -> BaseModel:
        data = payload.model_dump(mode="json")
        checked = await self._walk(data, "input", ())
        if checked == data:
            return payload
        try:
            return type(payload).model_validate(checked)
        except ValidationError as exc:
            raise StepError(f"the redacted input is not valid: {exc.errors()[0]['msg']}",
                            code="guardrail_blocked", retryable=False) from None

    async def after(self, output: Any) -> Any:
        if not self.check_output:
            return output
        if isinstance(output, dict):
            meta = {k: v for k, v in output.items() if k in META_KEYS}
            body = {k: v for k, v in output.items() if k not in META_KEYS}
            checked = {**await self._walk(body, "output", ()), **meta}
        else:
            checked = await self._walk(output, "output", ())
        if isinstance(checked, dict) and self.gateway is not None:
            checked["governance"] = self.summary()
        return checked

    def summary(self) -> list[dict[str, Any]]:
        return [dict(r) for r in self.records.values()]

    async def _walk(self, value: Any, stage: str, path: tuple[str, ...]) -> Any:
        if isinstance(value, str):
            return await self.check_text(value, stage, ".".join(path))
        if isinstance(value, dict):
            return {k: await self._walk(v, stage, (*path, str(k))) for k, v in value.items()}
        if isinstance(value, list):
            return [await self._walk(v, stage, (*path, str(i))) for i, v in enumerate(value)]
        return value

    async def check_text(self, text: str, stage: str, where: str = "") -> str:
        """Apply every rule of ``stage`` to ``text``; return it (redacted) or raise."""
        if not text:
            return text
        found = [await self._check(rule, text, stage)
                 for rule in self.rules if stage in rule.stages]
        spans: list[Span] = []
        for item in found:
            self._record(stage, item)
            if item.verdict.outcome == "pass" or item.rule.mode == "flag":
                continue
            if stage == "input":
                self.sensitive.update(text[s.start:s.end] for s in item.verdict.spans)
            if item.rule.mode == "block" or not item.verdict.spans:
                raise StepError(
                    f"guardrail '{item.rule.key}' blocked the {stage}"
                    + (f" at {where}" if where else "")
                    + f": {', '.join(item.verdict.categories) or item.verdict.outcome}",
                    code="guardrail_blocked", retryable=False,
                    extra={"stage": stage, "guardrail": item.rule.key,
                           "categories": item.verdict.categories, "governance": self.summary()})
            spans += item.verdict.spans
        return self._redact(text, spans) if spans else text

    async def _check(self, rule: GuardrailRule, text: str, stage: str) -> _Found:
        cls = self.hub.registry.guardrails.get(rule.key)
        try:
            if cls is None:
                raise LookupError(f"guardrail '{rule.key}' is not loaded")
            guard = _instance(cls)
            conf = cls.Config.model_validate(rule.config)
            async with asyncio.timeout(CHECK_TIMEOUT):
                verdict = await guard.check(text, config=conf, stage=stage)
            if not isinstance(verdict, Verdict):
                raise TypeError("check did not return a Verdict")
            _check_spans(verdict, len(text))
        except Exception as exc:  # noqa: BLE001 - a failing guardrail fails the step closed
            raise StepError(f"guardrail '{rule.key}' failed ({type(exc).__name__}); the step "
                            "fails closed", code="guardrail_error", retryable=True,
                            extra={"stage": stage, "guardrail": rule.key}) from None
        return _Found(rule, verdict)

    def _record(self, stage: str, item: _Found) -> None:
        key = (stage, item.rule.key)
        rec = self.records.setdefault(key, {
            "stage": stage, "guardrail": item.rule.key, "mode": item.rule.mode,
            "outcome": "pass", "categories": [], "count": 0})
        v = item.verdict
        if v.outcome == "pass":
            return
        if stage == "input":
            self.categories.update(v.categories)
        rank = {"pass": 0, "redact": 1, "block": 2}
        if rank[v.outcome] > rank[rec["outcome"]]:
            rec["outcome"] = v.outcome
        rec["categories"] = sorted(set(rec["categories"]) | set(v.categories))
        rec["count"] += max(len(v.spans), 1)

    def _redact(self, text: str, spans: list[Span]) -> str:
        merged: list[Span] = []
        for span in sorted(spans, key=lambda s: (s.start, -s.end)):
            if merged and span.start < merged[-1].end:
                continue
            merged.append(span)
        out, pos = [], 0
        for span in merged:
            original = text[span.start:span.end]
            key = (span.label, original)
            if key not in self.placeholders:
                n = 1 + sum(1 for label, _ in self.placeholders if label == span.label)
                self.placeholders[key] = f"[{span.label}_{n}]"
            out += [text[pos:span.start], self.placeholders[key]]
            pos = span.end
        out.append(text[pos:])
        return "".join(out)


_INSTANCES: dict[type, Guardrail] = {}


def _instance(cls: type[Guardrail]) -> Guardrail:
    inst = _INSTANCES.get(cls)
    if inst is None:
        inst = _INSTANCES[cls] = cls()
    return inst


def _check_spans(verdict: Verdict, length: int) -> None:
    for span in verdict.spans:
        if span.end > length or span.start >= span.end:
            raise ValueError("span outside the text")


async def governor_for(hub: Hub, *, workspace_id: str, run_id: str, zap_id: str, step_id: str,
                       action: Any) -> Governor | None:
    """A governor for one attempt of ``action``, or ``None`` when nothing governs it.

    ``hub.AIAction`` steps always get one, with the ``ctx.ai`` gateway; other actions only
    when the workspace policy applies guardrails to action inputs.
    """
    snap = await aiconf.load(hub, workspace_id)
    policy = snap.settings.guardrails
    if getattr(action, "governed", False):
        from hub.ai.gateway import Gateway

        gov = Governor(hub, list(policy.guardrails))
        gov.gateway = Gateway(hub, workspace_id, run_id, zap_id, step_id, gov)
        return gov
    if not (policy.apply_to_actions and policy.guardrails):
        return None
    rules = [r for r in policy.guardrails if "input" in r.stages]
    return Governor(hub, rules, check_output=False)
