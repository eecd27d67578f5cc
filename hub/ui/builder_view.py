"""The zap builder's page model: the fields of the zap, its trigger and each step (with
their errors placed by the validator's paths), branches and loops as nested lists."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hub.ui import forms
from hub.ui.builder import DEFAULT_USE, Catalog, approval_schema, input_schema, kept_keys


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
    schema = input_schema(cat, use)
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
            help="Credentials the action uses.", required=True,
            link=(f"/connections/new?connector={connector}", "Create a connection (new tab)")))
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
