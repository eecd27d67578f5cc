"""Which steps need approval: the step's own ``approval:`` and the workspace policy's rules."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from hub.audit.chain import canonical
from hub.expressions import root_references
from hub.zaps.approval import ApprovalPolicy, ApprovalSpec


@dataclass(frozen=True)
class Requirement:
    spec: ApprovalSpec
    reasons: list[str]  # "step", or "policy:<rule name>"


def input_hash(value: Any) -> str:
    """The hash an approval binds: SHA-256 of the canonical JSON of the rendered input."""
    return hashlib.sha256(canonical(value).encode()).hexdigest()


def ai_sources(cs: Any, governed: set[str]) -> list[str]:
    """The AI steps (ids in ``governed``) whose output the step's input reads."""
    found: list[str] = []
    for _path, expr in cs.input.expressions():
        for root, nxt in root_references(expr):
            if root == "steps" and nxt in governed and nxt not in found:
                found.append(nxt)
    return found


def _amount(value: Any, field: str) -> float | None:
    found = value.get(field) if isinstance(value, dict) else None
    if isinstance(found, bool) or not isinstance(found, int | float):
        return None
    return float(found)


def _matches(rule: Any, policy: ApprovalPolicy, cs: Any, rendered: Any,
             from_ai: list[str]) -> bool:
    if rule.when == "external":
        return cs.step.use.partition(".")[0] in policy.external_connectors
    if rule.when == "ai_input":
        return bool(from_ai)
    amount = _amount(rendered, rule.field)
    return amount is not None and amount > rule.threshold


def requirement(cs: Any, policy: ApprovalPolicy, rendered: Any,
                from_ai: list[str]) -> Requirement | None:
    """The approval the step needs (the strictest of all that apply), or ``None``."""
    specs: list[ApprovalSpec] = []
    reasons: list[str] = []
    for rule in policy.rules:
        if _matches(rule, policy, cs, rendered, from_ai):
            specs.append(rule.approval)
            reasons.append(f"policy:{rule.name}")
    if cs.step.approval is not None:
        specs.append(cs.step.approval)
        reasons.append("step")
    if not specs:
        return None
    first = specs[0]  # a policy rule's approvers win over the zap's own
    merged = first.model_copy(update={
        "min_approvals": max(s.min_approvals for s in specs),
        "timeout": min(s.timeout for s in specs),
        "on_timeout": "reject" if any(s.on_timeout == "reject" for s in specs) else "approve"})
    return Requirement(merged, reasons)
