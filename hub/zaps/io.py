"""Zap files: parse YAML or JSON text, dump to either."""

from __future__ import annotations

import json
from typing import Any, Literal

import yaml

from hub.errors import BadRequest
from hub.parsing import MAX_DEPTH, loads_json, loads_yaml

Format = Literal["yaml", "json"]
#: Largest zap document when the caller passes no limit (``HUB_API_MAX_BODY``'s default).
MAX_DOCUMENT_BYTES = 1_048_576


def _malformed(message: str) -> BadRequest:
    return BadRequest(message, code="malformed_document")


def _load(text: str, fmt: Format | None, max_depth: int) -> Any:
    if fmt == "json" or (fmt is None and text.lstrip().startswith("{")):
        return loads_json(text, max_depth=max_depth, what="zap file",
                          code="malformed_document", problem="does not parse")
    return loads_yaml(text, max_depth=max_depth, what="zap file", code="malformed_document")


def parse_document(text: str | bytes, fmt: Format | None = None, *,
                   max_bytes: int = MAX_DOCUMENT_BYTES,
                   max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """Parse a zap document: JSON if ``fmt`` says so or the text starts with ``{``, else YAML.

    YAML anchors and aliases are refused (``yaml_alias_refused``), documents larger than
    ``max_bytes`` (``payload_too_large``) or nested deeper than ``max_depth`` (``too_deep``).
    """
    if len(text) > max_bytes:
        raise BadRequest(f"zap file is larger than {max_bytes:,} bytes",
                         code="payload_too_large", status=413)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise _malformed("zap file is not UTF-8 text") from None
    data = _load(text, fmt, max_depth)
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
