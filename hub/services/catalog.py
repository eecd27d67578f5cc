"""The catalog: every registered object with the JSON Schemas a form is built from.

``GET /api/v1/catalog`` and ``hub catalog`` serve it. Schemas come from the plugins' pydantic
models (``title`` → label, ``description`` → help, ``examples`` → placeholder, enums →
select, bounds, defaults) and are made form-ready here: local ``$ref``s are inlined, an
optional field is one schema with ``type: [T, "null"]``, and a secret is marked
``writeOnly: true, format: password`` on the field itself. Properties keep their declaration
order; lists of objects are sorted by key. Schemas are static, so the rendered catalog is
cached on its registry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel

from hub.registry import Registry
from hub.sdk import NoCredentials

#: Bumped when the catalog's shape changes incompatibly.
CATALOG_VERSION = 1
MAX_REF_DEPTH = 8
_CACHE_KEY = "catalog"


def _inline(node: Any, defs: dict[str, Any], depth: int) -> Any:
    """Replace local ``$ref``s by their definition (recursive ones stay references)."""
    if isinstance(node, list):
        return [_inline(v, defs, depth) for v in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and depth < MAX_REF_DEPTH:
        target = defs.get(ref.rsplit("/", 1)[-1])
        if target is not None:
            rest = {k: v for k, v in node.items() if k != "$ref"}
            return _inline({**target, **rest}, defs, depth + 1)
    return {k: _inline(v, defs, depth) for k, v in node.items()}


def _flatten_optional(prop: dict[str, Any]) -> dict[str, Any]:
    """``anyOf: [T, null]`` → one schema with ``type: [T, "null"]`` (plain types only)."""
    options = prop.get("anyOf")
    if not (isinstance(options, list) and len(options) == 2 and {"type": "null"} in options):
        return prop
    (inner,) = [o for o in options if o != {"type": "null"}]
    if not isinstance(inner.get("type"), str) or {"enum", "const", "anyOf", "$ref"} & set(inner):
        return prop
    rest = {k: v for k, v in prop.items() if k != "anyOf"}
    return {**inner, **rest, "type": [inner["type"], "null"]}


def _mark_secret(prop: dict[str, Any]) -> dict[str, Any]:
    options = [prop, *prop.get("anyOf", [])]
    if any(isinstance(o, dict) and o.get("writeOnly") for o in options):
        return {**prop, "writeOnly": True, "format": "password"}
    return prop


def form_schema(model: type[BaseModel], mode: str = "validation") -> dict[str, Any]:
    """The model's JSON Schema, made form-ready (see the module docstring)."""
    schema = model.model_json_schema(mode=mode)  # type: ignore[arg-type]
    defs = schema.pop("$defs", {})
    schema = _inline(schema, defs, 0)
    if any("$ref" in json.dumps(v) for v in schema.get("properties", {}).values()):
        schema["$defs"] = defs  # a recursive model keeps the definitions it refers to
    props = schema.get("properties")
    if isinstance(props, dict):
        schema["properties"] = {name: _mark_secret(_flatten_optional(p))
                                for name, p in props.items()}
    return schema


def _base(key: str, cls: Any, registry: Registry, section: str) -> dict[str, Any]:
    return {"key": key, "title": cls.title, "description": cls.description or "",
            "plugin": registry.owners.get((section, key))}


def _action(use: str, cls: Any) -> dict[str, Any]:
    return {"key": cls.key, "use": use, "title": cls.title, "description": cls.description,
            "input_schema": form_schema(cls.Input),
            "output_schema": form_schema(cls.Output, "serialization")}


def _poll_trigger(source: str, cls: Any) -> dict[str, Any]:
    return {"key": cls.key, "source": source, "title": cls.title,
            "description": cls.description, "dedupe_key": cls.dedupe_key,
            "config_schema": form_schema(cls.Config)}


def _connector(key: str, cls: Any, registry: Registry) -> dict[str, Any]:
    creds = None if cls.Credentials is NoCredentials else form_schema(cls.Credentials)
    oauth2 = cls.oauth2.model_dump(mode="json") if cls.oauth2 is not None else None
    return {**_base(key, cls, registry, "connectors"), "hosts": sorted(cls.hosts),
            "needs_connection": creds is not None, "credentials_schema": creds,
            "oauth2": oauth2,
            "actions": [_action(f"{key}.{a.key}", a) for a in sorted(cls.actions,
                                                                     key=lambda a: a.key)],
            "poll_triggers": [_poll_trigger(f"{key}.{t.key}", t)
                              for t in sorted(cls.triggers, key=lambda t: t.key)]}


def _model(key: str, cls: Any, registry: Registry) -> dict[str, Any]:
    return {**_base(key, cls, registry, "models"), "config_schema": form_schema(cls.Config),
            "capabilities": sorted(cls.capabilities), "tags": sorted(cls.tags),
            "needs_key": cls.needs_key, "price_input_per_1k": cls.price_input_per_1k,
            "price_output_per_1k": cls.price_output_per_1k}


def _guardrail(key: str, cls: Any, registry: Registry) -> dict[str, Any]:
    return {**_base(key, cls, registry, "guardrails"), "config_schema": form_schema(cls.Config),
            "stages": sorted(cls.stages)}


def _configured(section: str) -> Any:
    def describe(key: str, cls: Any, registry: Registry) -> dict[str, Any]:
        out = {**_base(key, cls, registry, section), "config_schema": form_schema(cls.Config)}
        if section == "signature_schemes":
            out["dedupe_key"] = cls.dedupe_key
        return out

    return describe


SECTIONS = {"connectors": _connector, "trigger_kinds": _configured("trigger_kinds"),
            "signature_schemes": _configured("signature_schemes"), "models": _model,
            "guardrails": _guardrail}


def build_catalog(registry: Registry) -> dict[str, Any]:
    """The catalog as plain data (cached on ``registry``; do not mutate it)."""
    return _cached(registry)[0]


def catalog_json(registry: Registry) -> tuple[bytes, str]:
    """The catalog encoded as JSON, and its ETag (both cached on ``registry``)."""
    _, body, etag = _cached(registry)
    return body, etag


def _cached(registry: Registry) -> tuple[dict[str, Any], bytes, str]:
    found = registry.cache.get(_CACHE_KEY)
    if found is None:
        data: dict[str, Any] = {"version": CATALOG_VERSION}
        for section, describe in SECTIONS.items():
            table = getattr(registry, section)
            data[section] = [describe(k, table[k], registry) for k in sorted(table)]
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        found = registry.cache[_CACHE_KEY] = (data, body, etag)
    return found
