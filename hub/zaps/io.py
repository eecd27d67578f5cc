"""Zap files: parse YAML or JSON text, dump to either."""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml

from hub.errors import BadRequest

Format = Literal["yaml", "json"]


class _Loader(yaml.SafeLoader):
    """Safe YAML without implicit timestamps: ``2024-01-01`` stays a string, as in JSON."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _malformed(message: str) -> BadRequest:
    return BadRequest(message, code="malformed_document")


def _yaml_problem(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem and exc.problem_mark:
        mark = exc.problem_mark
        return f"{exc.problem} (line {mark.line + 1}, column {mark.column + 1})"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _load(text: str, fmt: Format | None) -> Any:
    if fmt == "json" or (fmt is None and text.lstrip().startswith("{")):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _malformed(f"zap file does not parse: {exc}") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _malformed(f"zap file does not parse: {_yaml_problem(exc)}") from None


def parse_document(text: str | bytes, fmt: Format | None = None) -> dict[str, Any]:
    """Parse a zap document: JSON if ``fmt`` says so or the text starts with ``{``, else YAML."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("zap file is not UTF-8 text") from None
    data = _load(text, fmt)
    if not isinstance(data, dict):
        raise _malformed("a zap document must be a mapping at the top level")
    try:  # explicit YAML tags (!!binary, !!set, .nan ...) would not survive storage as JSON
        json.dumps(data, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise _malformed(f"zap file holds a value JSON cannot represent: {exc}") from None
    return data


def dump_document(data: dict[str, Any], fmt: Format = "yaml") -> str:
    if fmt == "json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
