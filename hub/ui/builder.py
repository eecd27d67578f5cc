"""The zap builder's form: a zap document ↔ the posted form, and the edits made with plain
buttons (add, remove, move a step) before saving.

Field names are the zap validator's paths (``name``, ``trigger.config.url``,
``steps[1].input.text`` ...) so ``ZapInvalid`` errors map onto fields one to one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from hub.services.catalog import form_schema
from hub.ui import forms
from hub.ui.auth import first
from hub.zaps.approval import ApprovalSpec

MAX_STEPS = 500
#: Step keys the builder's form edits; the others are kept as they are (``kept_keys``).
FORM_KEYS = frozenset({"id", "use", "name", "connection", "when", "input", "approval",
                       "retry"})
DEFAULT_USE = "core.transform"
_OP = re.compile(r"^(add|refresh|save|run|test|remove|up|down)(?::(\d{1,3}))?$")


@dataclass(frozen=True)
class Catalog:
    """What the builder offers: trigger kinds and actions with their form schemas."""

    trigger_kinds: dict[str, dict[str, Any]]
    actions: dict[str, dict[str, Any]]
    groups: list[tuple[str, list[tuple[str, str]]]]
    needs_connection: dict[str, bool]

    @classmethod
    def of(cls, catalog: dict[str, Any]) -> Catalog:
        actions, groups, needs = {}, [], {}
        for conn in catalog["connectors"]:
            needs[conn["key"]] = conn["needs_connection"]
            if conn["actions"]:
                groups.append((conn["title"], [(a["use"], a["title"]) for a in conn["actions"]]))
            actions |= {a["use"]: a for a in conn["actions"]}
        kinds = {k["key"]: k for k in catalog["trigger_kinds"]}
        return cls(kinds, actions, groups, needs)


def parse_op(raw: str) -> tuple[str, int | None]:
    """``add``, ``refresh``, ``save``, ``test:N``, ``remove:N``, ``up:N``, ``down:N``."""
    found = _OP.match(raw or "refresh")
    if not found:
        return "refresh", None
    return found.group(1), int(found.group(2)) if found.group(2) else None


def _json_field(form: dict[str, list[str]], name: str, problems: dict[str, str],
                default: Any) -> Any:
    text = first(form, name).strip()
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        problems[name] = "not valid JSON"
        return default


def input_schema(cat: Catalog, use: str) -> dict[str, Any] | None:
    """The action's input schema, or None when its input is free-form (one JSON field)."""
    action = cat.actions.get(use)
    if action is None or not action["input_schema"].get("properties"):
        return None
    return action["input_schema"]


def _step_from_form(form: dict[str, list[str]], index: int, cat: Catalog,
                    problems: dict[str, str]) -> dict[str, Any]:
    path = f"steps[{index}]"
    use = first(form, f"{path}.use", DEFAULT_USE)
    step: dict[str, Any] = {"id": first(form, f"{path}.id").strip(), "use": use}
    for key in ("name", "connection", "when"):
        value = first(form, f"{path}.{key}").strip()
        if value:
            step[key] = value
    schema = input_schema(cat, use)
    step["input"] = forms.parse(schema, f"{path}.input", form, problems) \
        if schema else _json_field(form, f"{path}.input", problems, {})
    kept = _json_field(form, f"{path}.kept", problems, {})
    kept = kept if isinstance(kept, dict) else {}
    retry = {k: forms._number(v, ["number"]) for k in ("attempts", "backoff")
             if (v := first(form, f"{path}.retry.{k}").strip())}
    if "attempts" in retry and isinstance(retry["attempts"], float):
        retry["attempts"] = int(retry["attempts"])
    retry = {**(kept.pop("retry", None) or {}), **retry}
    if retry:
        step["retry"] = retry
    if f"{path}.approval.required" in form:
        step["approval"] = _approval_from_form(form, path, problems)
    return {**kept, **step}


def kept_keys(step: dict[str, Any]) -> dict[str, Any]:
    """What of a step the form does not edit (a timeout, the rest of its retry policy,
    ``core.paths`` branches and ``core.loop`` steps...): carried through the form as is."""
    kept = {k: v for k, v in step.items() if k not in FORM_KEYS and v is not None}
    rest = {k: v for k, v in (step.get("retry") or {}).items() if k not in ("attempts",
                                                                              "backoff")}
    if rest:
        kept["retry"] = rest
    return kept


@cache
def approval_schema() -> dict[str, Any]:
    return form_schema(ApprovalSpec)


def _approval_from_form(form: dict[str, list[str]], path: str,
                        problems: dict[str, str]) -> dict[str, Any]:
    spec = forms.parse(approval_schema(), f"{path}.approval", form, problems)
    who = spec.get("approvers")
    if isinstance(who, str) and ("," in who or "@" in who or who.startswith("usr_")):
        spec["approvers"] = [w.strip() for w in who.split(",") if w.strip()]
    return spec


def from_form(form: dict[str, list[str]], cat: Catalog) -> tuple[dict[str, Any], dict[str, str]]:
    """The zap document a posted builder form describes, and the values it could not read."""
    problems: dict[str, str] = {}
    kind = first(form, "trigger.kind", "manual")
    schema = cat.trigger_kinds.get(kind, {}).get("config_schema", {})
    doc: dict[str, Any] = {
        "name": first(form, "name").strip(), "description": first(form, "description"),
        "trigger": {"kind": kind, "config": forms.parse(schema, "trigger.config", form,
                                                        problems)}}
    try:
        count = min(max(int(first(form, "step_count", "0")), 0), MAX_STEPS)
    except ValueError:
        count = 0
    doc["steps"] = [_step_from_form(form, i, cat, problems) for i in range(count)]
    doc["vars"] = _json_field(form, "vars", problems, {})
    rest = _json_field(form, "rest", problems, {})
    if isinstance(rest, dict):
        doc |= {k: v for k, v in rest.items() if k in ("output", "settings")}
    return doc, problems


def apply_op(doc: dict[str, Any], op: str, index: int | None) -> None:
    """Add, remove or move a step of ``doc`` in place."""
    steps: list[dict[str, Any]] = doc["steps"]
    if op == "add" and len(steps) < MAX_STEPS:
        taken = {s.get("id") for s in steps}
        n = len(steps) + 1
        while f"step_{n}" in taken:
            n += 1
        steps.append({"id": f"step_{n}", "use": DEFAULT_USE, "input": {}})
    if index is None or not 0 <= index < len(steps):
        return
    if op == "remove":
        steps.pop(index)
    elif op in ("up", "down"):
        other = index - 1 if op == "up" else index + 1
        if 0 <= other < len(steps):
            steps[index], steps[other] = steps[other], steps[index]
