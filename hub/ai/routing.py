"""Routing: from a step's policy (or model) and its data to an ordered list of candidates."""

from __future__ import annotations

from dataclasses import dataclass

from hub.ai.config import ModelEntry, Policy, Snapshot
from hub.ai.contract import ModelRequest
from hub.errors import StepError
from hub.registry import Registry
from hub.sdk import Model

#: what each task needs from a model (any one of them)
TASK_CAPABILITIES = {"chat": ("chat",), "embed": ("embeddings",), "classify": ("classify",)}


@dataclass
class Choice:
    entry: ModelEntry
    cls: type[Model]
    max_cost_per_call: float | None
    tags: frozenset[str]
    capabilities: frozenset[str]

    def estimate(self, request: ModelRequest) -> float:
        """An upper estimate of one call's cost (about 4 characters per token)."""
        p_in, p_out = prices(self.entry, self.cls)
        tokens_in = request.prompt_chars() / 4 + 8
        tokens_out = request.max_tokens if request.task == "chat" else 0
        return (tokens_in * p_in + tokens_out * p_out) / 1000


def prices(entry: ModelEntry, cls: type[Model]) -> tuple[float, float]:
    p_in = cls.price_input_per_1k if entry.price_input is None else entry.price_input
    p_out = cls.price_output_per_1k if entry.price_output is None else entry.price_output
    return p_in, p_out


def _choice(snap: Snapshot, registry: Registry, name: str,
            max_cost: float | None) -> Choice:
    entry = snap.models.get(name)
    if entry is None:
        raise StepError(f"unknown model '{name}'", code="unknown_model", retryable=False)
    cls = registry.models.get(entry.provider)
    if cls is None:
        raise StepError(f"model '{name}' uses provider '{entry.provider}', which is not loaded",
                        code="unknown_provider", retryable=False)
    tags = frozenset(entry.tags) if entry.tags is not None else cls.tags
    caps = frozenset(entry.capabilities) if entry.capabilities is not None else cls.capabilities
    return Choice(entry, cls, max_cost, tags, caps)


def plan(snap: Snapshot, registry: Registry, *, policy: str | None, model: str | None,
         request: ModelRequest, categories: set[str]) -> tuple[Policy | None, list[Choice],
                                                               list[str]]:
    """The policy used, the eligible candidates in order, and why others were left out."""
    if policy is None and model is None:
        policy = "default" if "default" in snap.policies else None
        if policy is None:
            raise StepError("the step names neither a policy nor a model and the workspace "
                            "has no 'default' policy", code="unknown_policy", retryable=False)
    if model is not None and policy is None:
        if not snap.settings.allow_direct_models:
            raise StepError("this workspace allows models only through a policy",
                            code="direct_model_not_allowed", retryable=False)
        pol = None
        choices = [_choice(snap, registry, model, None)]
    else:
        pol = snap.policies.get(policy or "")
        if pol is None:
            raise StepError(f"unknown policy '{policy}'", code="unknown_policy",
                            retryable=False)
        choices = [_choice(snap, registry, c.model, c.max_cost_per_call
                           if c.max_cost_per_call is not None else pol.max_cost_per_call)
                   for c in pol.entries()]
    return pol, *_filter(pol, choices, request, categories)


def _filter(pol: Policy | None, choices: list[Choice], request: ModelRequest,
            categories: set[str]) -> tuple[list[Choice], list[str]]:
    needed = set(TASK_CAPABILITIES[request.task])
    required = set(pol.require_capabilities) if pol else set()
    tags_needed: set[str] = set()
    for rule in pol.rules if pol else []:
        if categories & set(rule.if_categories):
            tags_needed |= set(rule.require_tags)
    kept, notes = [], []
    for c in choices:
        if not (needed & c.capabilities or request.task == "classify" and "chat" in c.capabilities):
            notes.append(f"{c.entry.name}: lacks capability {'/'.join(sorted(needed))}")
        elif not required <= c.capabilities:
            notes.append(f"{c.entry.name}: lacks capability {', '.join(sorted(required))}")
        elif not tags_needed <= c.tags:
            notes.append(f"{c.entry.name}: not tagged {', '.join(sorted(tags_needed))} "
                         f"(data: {', '.join(sorted(categories))})")
        elif c.max_cost_per_call is not None and c.estimate(request) > c.max_cost_per_call:
            notes.append(f"{c.entry.name}: estimated cost over {c.max_cost_per_call:g} per call")
        else:
            kept.append(c)
    if not kept:
        raise StepError("no eligible model: " + "; ".join(notes), code="no_eligible_model",
                        retryable=False, extra={"excluded": notes})
    return kept, notes
