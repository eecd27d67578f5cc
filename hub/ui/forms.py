"""HTML form fields generated from a form-ready JSON Schema (``hub.services.catalog``), and
the posted values turned back into data of the schema's types.

``title`` → label, ``description`` → help, ``examples`` → placeholder, ``enum`` → select,
``writeOnly``/``format: password`` → password field, ``minimum``/``maximum`` → number bounds,
``required`` → a required mark, ``format: multiline`` → text area, objects with properties →
a group of fields, lists of plain values → one item per line; anything else (free-form
objects, lists of objects) → a JSON text area. Field names are the validator's paths
(``steps[0].input.text``), so every validation error lands next to its field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

PLAIN = ("string", "integer", "number", "boolean")
MAX_NESTING = 4


@dataclass
class Field:
    """One rendered form control (or a group of them, ``kind == "group"``)."""

    name: str
    label: str
    kind: str
    help: str = ""
    required: bool = False
    value: str = ""
    checked: bool = False
    options: list[str] = field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None
    placeholder: str = ""
    error: str = ""
    pickable: bool = False
    link: tuple[str, str] | None = None  # (href, text) shown after the help
    children: list[Field] = field(default_factory=list)

    @property
    def dom_id(self) -> str:
        return "f-" + "".join(c if c.isalnum() else "-" for c in self.name)


def _types(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, list):
        return [k for k in kind if k != "null"]
    if isinstance(kind, str):
        return [kind]
    for option in schema.get("anyOf", []):
        if isinstance(option, dict) and option.get("type") not in (None, "null"):
            return _types(option)
    return []


def _enum(schema: dict[str, Any]) -> list[Any] | None:
    if "enum" in schema:
        return list(schema["enum"])
    for option in schema.get("anyOf", []):
        if isinstance(option, dict) and "enum" in option:
            return list(option["enum"])
    return None


def kind_of(schema: dict[str, Any], depth: int = 0) -> str:
    """The control a schema renders as."""
    types = _types(schema)
    if _enum(schema) is not None:
        return "select"
    if types == ["object"] and isinstance(schema.get("properties"), dict) \
            and depth < MAX_NESTING:
        return "group"
    if types == ["array"] and _types(schema.get("items") or {}) in (["string"], ["integer"],
                                                                      ["number"]):
        return "lines"
    if len(types) != 1 or types[0] not in PLAIN:
        return "json"
    if schema.get("writeOnly") or schema.get("format") == "password":
        return "password"
    if types[0] == "string":
        return "textarea" if schema.get("format") == "multiline" else "text"
    return "checkbox" if types[0] == "boolean" else "number"


def _shown(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "lines" and isinstance(value, list):
        return "\n".join(str(v) for v in value)
    if kind == "json" or not isinstance(value, str | int | float | bool):
        return json.dumps(value, indent=2, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def build(schema: dict[str, Any], prefix: str, values: Any, depth: int = 0) -> list[Field]:
    """The fields of an object schema under the form-name ``prefix`` (errors are placed on
    them afterwards, by name)."""
    values = values if isinstance(values, dict) else {}
    required = set(schema.get("required") or ())
    out = []
    for key, prop in (schema.get("properties") or {}).items():
        out.append(_one(key, prop, f"{prefix}.{key}", values.get(key, prop.get("default")),
                        key in required, depth))
    return out


def _one(key: str, prop: dict[str, Any], name: str, value: Any, required: bool,
         depth: int) -> Field:
    kind = kind_of(prop, depth)
    examples = prop.get("examples") or [""]
    made = Field(name=name, label=prop.get("title") or key.replace("_", " ").capitalize(),
                 kind=kind, help=prop.get("description", ""), required=required,
                 placeholder=str(examples[0])[:80],
                 pickable=kind in ("text", "textarea", "lines", "json"))
    if kind == "group":
        made.children = build(prop, name, value, depth + 1)
    elif kind == "select":
        made.options = [str(v) for v in _enum(prop) or []]
        made.value = "" if value is None else str(value)
    elif kind == "checkbox":
        made.checked = value is True
    else:
        made.value = "" if kind == "password" else _shown(value, kind)
        made.minimum = prop.get("minimum", prop.get("exclusiveMinimum"))
        made.maximum = prop.get("maximum", prop.get("exclusiveMaximum"))
    return made


class FormProblems(Exception):
    """Values that could not be read (e.g. bad JSON): ``{field name: message}``."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__(problems)
        self.problems = problems


def _number(text: str, types: list[str]) -> Any:
    try:
        return int(text) if types == ["integer"] else float(text)
    except ValueError:
        return text  # e.g. a {{ }} template; the zap validator judges it


def _parse_one(prop: dict[str, Any], name: str, form: dict[str, list[str]],
               problems: dict[str, str], depth: int) -> Any:
    kind = kind_of(prop, depth)
    if kind == "group":
        return parse(prop, name, form, problems, depth + 1) or None
    if kind == "checkbox":
        return name in form
    text = (form.get(name) or [""])[0]
    if not text.strip():
        return None
    if kind == "lines":
        items = [line.strip() for line in text.splitlines() if line.strip()]
        types = _types(prop.get("items") or {})
        return [_number(i, types) if types != ["string"] else i for i in items]
    if kind == "json":
        try:
            return json.loads(text)
        except ValueError:
            if _types(prop) in ([], ["string"]):
                return text
            problems[name] = "not valid JSON"
            return None
    if kind == "number":
        return _number(text.strip(), _types(prop))
    return text


def parse(schema: dict[str, Any], prefix: str, form: dict[str, list[str]],
          problems: dict[str, str], depth: int = 0) -> dict[str, Any]:
    """The posted values of the fields ``build`` made for ``schema`` under ``prefix``:
    empty optional fields are left out, and a boolean equal to its default too."""
    out: dict[str, Any] = {}
    required = set(schema.get("required") or ())
    for key, prop in (schema.get("properties") or {}).items():
        value = _parse_one(prop, f"{prefix}.{key}", form, problems, depth)
        if value is None or (isinstance(value, bool) and value == prop.get("default", False)
                             and key not in required):
            continue
        out[key] = value
    return out
