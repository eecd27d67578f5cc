"""Parsing JSON and YAML from outside the hub with bounded cost.

Every document the hub parses (webhook bodies, API bodies, zap files, AI routes and policies,
CLI input) goes through these two functions:

- ``loads_json`` checks the nesting depth on the raw text before parsing (one linear pass in C,
  no recursion), refuses ``NaN``/``Infinity`` (not JSON, and not storable), and turns a
  ``RecursionError`` into the same ``too_deep`` error should a deeper limit ever be allowed.
- ``loads_yaml`` refuses anchors and aliases (``&a`` / ``*a``: the "billion laughs" expansion
  of a few hundred bytes into gigabytes), limits depth and node count while streaming the
  document's events, and keeps ``2024-01-01`` a string (no implicit timestamps), as in JSON.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

import yaml

from hub.errors import BadRequest

#: Nesting depth when the caller has no setting at hand (``HUB_MAX_JSON_DEPTH``'s default).
MAX_DEPTH = 64
#: YAML nodes (scalars, sequences, mappings) in one document: constructing each costs
#: microseconds in Python, so this bounds the time a document can take to load.
MAX_YAML_NODES = 50_000

#: every byte but quotes, brackets and the capitals that start NaN and Infinity
_NOISE = bytes(sorted(set(range(256)) - set(b'"[]{}NI')))
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1
_SLICE = 65_536


def too_deep(depth: int, what: str) -> BadRequest:
    return BadRequest(f"{what} is nested deeper than {depth} levels", code="too_deep")


def _bytes(raw: bytes | bytearray | str) -> bytes | bytearray:
    return raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw


def _outside_strings(data: bytes | bytearray) -> Iterator[bytes]:
    """Brackets, ``N`` and ``I`` that are not inside a JSON string, in order, a piece at a
    time: linear, in C, and never more than a small slice of the body in extra memory."""
    if b"\\" in data:  # escapes, left to right as a JSON string reads them: \\ then \"
        data = data.replace(b"\\\\", b"").replace(b'\\"', b"")
    kept = data.translate(None, _NOISE)  # only quotes, brackets, N and I remain
    inside = False
    for start in range(0, len(kept), _SLICE):
        parts = kept[start:start + _SLICE].split(b'"')
        yield b"".join(parts[1 if inside else 0::2])  # the pieces between quotes outside
        inside ^= (len(parts) - 1) % 2 == 1


def _depth(data: bytes | bytearray) -> tuple[int, bool]:
    """The deepest nesting outside strings, and whether ``NaN``/``Infinity`` appear there."""
    deepest = depth = 0
    constants = False
    for piece in _outside_strings(data):
        if piece:
            levels = list(accumulate(map(_STEP.__getitem__, piece), initial=depth))
            deepest, depth = max(deepest, max(levels)), levels[-1]
            constants = constants or b"N" in piece or b"I" in piece
    return deepest, constants


def json_depth_exceeds(raw: bytes | bytearray | str, max_depth: int) -> bool:
    """Whether brackets outside strings nest deeper than ``max_depth`` (no parsing)."""
    data = _bytes(raw)
    if data.count(b"[") + data.count(b"{") <= max_depth:
        return False
    return _depth(data)[0] > max_depth


def json_problem(raw: bytes | bytearray | str, max_depth: int,
                 what: str = "the request body") -> BadRequest | None:
    """What a JSON text's own parser would accept but the hub must not, without parsing it:
    nesting deeper than ``max_depth`` (``too_deep``), ``NaN`` or ``Infinity``."""
    data = _bytes(raw)
    deep = data.count(b"[") + data.count(b"{") > max_depth
    if not deep and b"N" not in data and b"I" not in data:
        return None
    depth, constants = _depth(data)
    if depth > max_depth:
        return too_deep(max_depth, what)
    if constants:
        return BadRequest(f"{what} holds NaN or Infinity, which JSON does not allow",
                          code="malformed_json")
    return None


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def loads_json(raw: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH,
               what: str = "the body", code: str = "malformed_json",
               problem: str = "is not valid JSON") -> Any:
    """Parse JSON; ``too_deep`` past ``max_depth``, ``code`` (400) when it is not JSON (the
    message reads ``{what} {problem}: {detail}``)."""
    if json_depth_exceeds(raw, max_depth):
        raise too_deep(max_depth, what)
    try:
        return json.loads(raw, parse_constant=_constant)
    except RecursionError:
        raise too_deep(max_depth, what) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"{what} {problem}: {exc}", code=code) from None


_Base: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when it is built in


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe YAML without implicit timestamps: ``2024-01-01`` stays a string, as in JSON."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
_NODES = (yaml.ScalarEvent, *_OPEN)


def _where(mark: Any) -> str:
    return f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""


def yaml_problem(exc: yaml.YAMLError) -> str:
    """A one-line description of a YAML syntax error, with its position."""
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem and exc.problem_mark:
        return f"{exc.problem}{_where(exc.problem_mark)}"
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


def _check_events(text: str, max_depth: int, what: str) -> None:
    depth = nodes = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise BadRequest(f"{what} uses a YAML anchor or alias{_where(event.start_mark)}; "
                             "they are not accepted (write the value out)",
                             code="yaml_alias_refused")
        if isinstance(event, _NODES):
            nodes += 1
            if nodes > MAX_YAML_NODES:
                raise BadRequest(f"{what} has more than {MAX_YAML_NODES:,} YAML nodes",
                                 code="document_too_large", status=413)
        if isinstance(event, _OPEN):
            depth += 1
            if depth > max_depth:
                raise too_deep(max_depth, what)
        elif isinstance(event, _CLOSE):
            depth -= 1


def loads_yaml(raw: bytes | str, *, max_depth: int = MAX_DEPTH, what: str = "the body",
               code: str = "malformed_document") -> Any:
    """Parse one YAML document safely (see the module docstring); ``code`` on a syntax
    error, ``yaml_alias_refused``, ``too_deep`` or ``document_too_large`` on the limits."""
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes | bytearray) else raw
    except UnicodeDecodeError:
        raise BadRequest(f"{what} is not UTF-8 text", code=code) from None
    try:
        _check_events(text, max_depth, what)
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        problem = yaml_problem(exc)
        if "maximum nesting depth" in problem:  # libyaml's own cap (1000), met before ours
            raise too_deep(max_depth, what) from None
        raise BadRequest(f"{what} does not parse: {problem}", code=code) from None
    except RecursionError:
        raise too_deep(max_depth, what) from None


def check_depth(value: Any, max_depth: int = MAX_DEPTH, what: str = "the value") -> None:
    """Raise ``too_deep`` if an already parsed value nests deeper than ``max_depth``."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            raise too_deep(max_depth, what)
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
