"""The zap builder's form: a zap document ↔ the posted form, and the edits made with plain
buttons (add, remove, move a step) before saving.

Field names are the zap validator's paths (``name``, ``trigger.config.url``,
``steps[1].input.text`` ...) so ``ZapInvalid`` errors map onto fields one to one.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
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


def _input_schema(cat: Catalog, use: str) -> dict[str, Any] | None:
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
    schema = _input_schema(cat, use)
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


def nested(step: dict[str, Any]) -> list[dict[str, Any]]:
    """Branches and loop bodies of a step, as nested lists to show (``name``, ``when``,
    ``steps``: each ``{id, use, nested}``)."""
    groups = []
    for branch in step.get("branches") or []:
        if isinstance(branch, dict):
            groups.append({"name": f"path {branch.get('name', '')}", "when": branch.get("when"),
                           "steps": _inner(branch.get("steps"))})
    if isinstance(step.get("steps"), list):
        groups.append({"name": "for each item", "when": None, "steps": _inner(step["steps"])})
    return groups


def _inner(steps: Any) -> list[dict[str, Any]]:
    return [{"id": s.get("id"), "use": s.get("use"), "when": s.get("when"),
             "nested": nested(s)} for s in steps or [] if isinstance(s, dict)]


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


def _approval_fields(spec: Any, path: str) -> list[forms.Field]:
    on = isinstance(spec, dict)
    values = dict(spec) if on else {}
    if isinstance(values.get("approvers"), list):
        values["approvers"] = ", ".join(values["approvers"])
    group = forms.Field(name=f"{path}.approval", label="Approval", kind="group",
                        help="People approve the step's exact input before it runs.")
    group.children = [forms.Field(name=f"{path}.approval.required", kind="checkbox",
                                  label="Requires approval", checked=on)]
    group.children += forms.build(approval_schema(), f"{path}.approval", values)
    return [group]


@dataclass
class StepView:
    index: int
    fields: list[forms.Field]
    inputs: list[forms.Field]
    use: str
    title: str
    kept: str = "{}"
    nested: list[dict[str, Any]] = field(default_factory=list)
    picks: list[str] = field(default_factory=list)
    test: dict[str, Any] | None = None


def _text(name: str, label: str, value: Any, help: str = "", required: bool = False,
          kind: str = "text") -> forms.Field:
    shown = "" if value is None else (value if isinstance(value, str) else json.dumps(value))
    return forms.Field(name=name, label=label, kind=kind, help=help, required=required,
                       value=shown, pickable=kind in ("text", "textarea"))


def _step_view(step: dict[str, Any], index: int, cat: Catalog,
               connections: dict[str, list[str]]) -> StepView:
    path = f"steps[{index}]"
    use = str(step.get("use") or DEFAULT_USE)
    action = cat.actions.get(use)
    retry = step.get("retry") or {}
    fields = [
        _text(f"{path}.id", "Step id", step.get("id"), "Later steps read its output as "
              "steps.<id>; lower case letters, digits and _.", required=True),
        _text(f"{path}.name", "Label", step.get("name")),
        _text(f"{path}.when", "Run only when", step.get("when"),
              "A condition, e.g. steps.classify.label == 'urgent'; empty: always."),
        forms.Field(name=f"{path}.retry.attempts", label="Attempts", kind="number",
                    value=str(retry.get("attempts", "")), minimum=1, maximum=20,
                    help="Total attempts, the first included; empty: the zap's default."),
        forms.Field(name=f"{path}.retry.backoff", label="Backoff (s)", kind="number",
                    value=str(retry.get("backoff", "")), minimum=0, maximum=3600),
    ]
    schema = _input_schema(cat, use)
    if schema:
        inputs = forms.build(schema, f"{path}.input", step.get("input"))
    else:
        inputs = [_text(f"{path}.input", "Input (JSON)", step.get("input") or {}, kind="json")]
    connector = use.partition(".")[0]
    fields += _approval_fields(step.get("approval"), path)
    fields.insert(1, forms.Field(name=f"{path}.use", label="App and action", kind="use",
                                 value=use, required=True))
    current = str(step.get("connection") or "")
    names = connections.get(connector, [])
    if cat.needs_connection.get(connector, False) or current:
        fields.insert(2, forms.Field(
            name=f"{path}.connection", label="Connection", kind="select", value=current,
            options=names + ([current] if current and current not in names else []),
            help="Credentials the action uses.", required=True))
    return StepView(index, fields, inputs, use, action["title"] if action else use,
                    kept=json.dumps(kept_keys(step)), nested=nested(step))


@dataclass
class BuilderView:
    """Everything the builder template shows."""

    groups: list[tuple[str, list[tuple[str, str]]]]
    top: list[forms.Field]
    kinds: list[tuple[str, str]]
    kind: str
    trigger: list[forms.Field]
    steps: list[StepView]
    rest: str
    errors: list[dict[str, str]]
    sample: dict[str, Any] | None = None
    sample_text: str = ""


def view(doc: dict[str, Any], cat: Catalog, connections: dict[str, list[str]],
         errors: list[dict[str, str]]) -> BuilderView:
    """The builder for ``doc`` with ``errors`` placed on their fields."""
    trigger = doc.get("trigger") or {}
    kind = str(trigger.get("kind") or "manual")
    schema = cat.trigger_kinds.get(kind, {}).get("config_schema", {})
    top = [_text("name", "Name", doc.get("name"), "Unique in the workspace.", required=True),
           _text("description", "Description", doc.get("description"), kind="textarea"),
           _text("vars", "Variables (JSON)", doc.get("vars") or {},
                 "Constants the steps read as vars.<name>.", kind="json")]
    steps = doc.get("steps") or []
    built = BuilderView(
        groups=cat.groups, top=top,
        kinds=[(k, v["title"]) for k, v in sorted(cat.trigger_kinds.items())],
        kind=kind, trigger=forms.build(schema, "trigger.config", trigger.get("config")),
        steps=[_step_view(s, i, cat, connections) for i, s in enumerate(steps)],
        rest=json.dumps({k: doc[k] for k in ("output", "settings") if k in doc}),
        errors=[])
    place_errors(built, errors)
    return built


def _all_fields(built: BuilderView) -> dict[str, forms.Field]:
    out: dict[str, forms.Field] = {}

    def walk(items: list[forms.Field]) -> None:
        for f in items:
            out[f.name] = f
            walk(f.children)

    walk(built.top)
    walk(built.trigger)
    for step in built.steps:
        walk(step.fields)
        walk(step.inputs)
    return out


def place_errors(built: BuilderView, errors: list[dict[str, str]]) -> None:
    """Put each error on the field its path names (or the nearest enclosing one); the rest
    (and a summary linking to every placed one) go to the top of the form."""
    known = _all_fields(built)
    for err in errors:
        path = err["path"]
        while path and path not in known:
            cut = max(path.rfind("."), path.rfind("["))
            path = path[:cut] if cut > 0 else ""
        if not path:
            built.errors.append({**err, "field": ""})
            continue
        target = known[path]
        target.error = f"{target.error}; {err['message']}" if target.error else err["message"]
        built.errors.append({**err, "field": target.dom_id})
