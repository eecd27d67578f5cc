"""Zap files: YAML and JSON parsing, clear errors for malformed input, round trips."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hub.errors import BadRequest
from hub.zaps.io import dump_document, parse_document

DOC: dict[str, Any] = {
    "name": "Triage — tickets",
    "description": "Routes tickets.\nSecond line.",
    "trigger": {"kind": "manual", "config": {"max_input_bytes": 2048}},
    "vars": {"threshold": 100, "ratio": 0.5, "on": True, "none": None, "date": "2024-01-01",
             "yes": "yes", "digits": "0123", "empty": "", "list": [1, "two", {"x": []}]},
    "steps": [
        {"id": "gate", "use": "core.filter",
         "input": {"condition": "{{ trigger.amount > `100` }}"}},
        {"id": "shape", "use": "core.transform",
         "input": {"text": "Hi {{ trigger.name }}: {{ vars.threshold }}", "emoji": "🎉"},
         "when": "steps.gate.passed"},
    ],
    "output": "{{ steps.shape }}",
}

YAML = """\
name: Triage
trigger:
  kind: manual
steps:
  - id: shape
    use: core.transform
    input:
      text: "Hi {{ trigger.name }}"
      n: 3
"""

EXPECTED = {
    "name": "Triage",
    "trigger": {"kind": "manual"},
    "steps": [{"id": "shape", "use": "core.transform",
               "input": {"text": "Hi {{ trigger.name }}", "n": 3}}],
}


def malformed(text: str | bytes, fmt: Any = None) -> str:
    with pytest.raises(BadRequest) as info:
        parse_document(text, fmt)
    assert info.value.code == "malformed_document"
    assert info.value.status == 400
    return info.value.message


def test_parse_yaml() -> None:
    assert parse_document(YAML) == EXPECTED
    assert parse_document(YAML, "yaml") == EXPECTED
    assert parse_document(YAML.encode()) == EXPECTED


def test_parse_json() -> None:
    text = json.dumps(EXPECTED)
    assert parse_document(text) == EXPECTED
    assert parse_document(text, "json") == EXPECTED
    assert parse_document("\n  " + text) == EXPECTED
    assert parse_document(text.encode()) == EXPECTED


def test_json_is_also_yaml() -> None:
    assert parse_document(json.dumps(EXPECTED), "yaml") == EXPECTED


def test_yaml_flow_mapping_with_yaml_format() -> None:
    assert parse_document("{name: x}", "yaml") == {"name": "x"}


def test_utf8_bom_free_unicode_bytes() -> None:
    assert parse_document("name: café ☕\n".encode()) == {"name": "café ☕"}


def test_yaml_dates_stay_strings() -> None:
    """JSON has no dates: a YAML ``2024-01-01`` must not become a ``datetime.date``."""
    data = parse_document("name: x\nvars:\n  day: 2024-01-01\n  at: 2024-01-01T10:00:00Z\n")
    assert data["vars"] == {"day": "2024-01-01", "at": "2024-01-01T10:00:00Z"}


@pytest.mark.parametrize("text", ["- a\n- b\n", "just a string", "42", "null", "", "   \n",
                                  "[1, 2]", "true"])
def test_non_mapping_top_level(text: str) -> None:
    assert malformed(text) == "a zap document must be a mapping at the top level"


def test_non_mapping_json() -> None:
    assert malformed("[1, 2]", "json") == "a zap document must be a mapping at the top level"


@pytest.mark.parametrize(("text", "fragment"), [
    ("name: [unclosed\n", "line 2"),
    ("a: b: c\n", "mapping values are not allowed in this context (line 1, column 5)"),
    ("name: x\n  bad indent: y\n", "line 2"),
    ("key: 'unterminated\n", "zap file does not parse"),
    ("\tname: x\n", "zap file does not parse"),
])
def test_invalid_yaml(text: str, fragment: str) -> None:
    message = malformed(text)
    assert message.startswith("zap file does not parse: ")
    assert fragment in message
    assert "\n" not in message


@pytest.mark.parametrize(("text", "fmt"), [
    ('{"name": }', None),
    ('{"name": "x",}', None),
    ("{name: 'x'}", None),  # starts with '{': read as JSON, which this is not
    ("name: x", "json"),
    ('{"name": "x"', "json"),
])
def test_invalid_json(text: str, fmt: Any) -> None:
    message = malformed(text, fmt)
    assert message.startswith("zap file does not parse: ")
    assert "line 1 column" in message


@pytest.mark.parametrize("raw", [b"name: \xff\xfe\n", b"\x80abc", "name: é".encode("latin-1"),
                                 "name: x".encode("utf-16")])
def test_non_utf8_bytes(raw: bytes) -> None:
    assert malformed(raw) == "zap file is not UTF-8 text"


@pytest.mark.parametrize("text", [
    "a: !!python/object/apply:os.system ['echo pwned']\n",
    "a: !!python/name:os.system\n",
    "!!python/object/new:dict {}\n",
])
def test_python_tags_are_refused(text: str) -> None:
    assert malformed(text).startswith("zap file does not parse: could not determine a constructor")


@pytest.mark.parametrize("text", ["a: !!binary aGVsbG8=\n", "a: !!set {x: null}\n", "a: .nan\n",
                                  "a: .inf\n", "a: !!timestamp 2024-01-01\n"])
def test_values_json_cannot_hold_are_refused(text: str) -> None:
    assert malformed(text).startswith("zap file holds a value JSON cannot represent")


@pytest.mark.parametrize("text", [
    "base: &b {kind: manual}\ntrigger: *b\n",
    "name: &n greet\n",  # an anchor alone is refused too: it only exists to be aliased
    "a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n",
    "base: &b {kind: manual}\ntrigger:\n  <<: *b\n",
])
def test_yaml_anchors_and_aliases_are_refused(text: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_document(text)
    assert info.value.code == "yaml_alias_refused" and info.value.status == 400
    assert "line 1" in info.value.message


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_round_trip(fmt: Any) -> None:
    text = dump_document(DOC, fmt)
    assert isinstance(text, str)
    assert text.endswith("\n")
    assert parse_document(text) == DOC
    assert parse_document(text, fmt) == DOC
    assert parse_document(text.encode()) == DOC


def test_dump_yaml_keeps_key_order_and_unicode() -> None:
    text = dump_document(DOC)
    assert text.startswith("name: Triage — tickets\n")
    assert text.index("trigger:") < text.index("vars:") < text.index("steps:")
    assert "🎉" in text


def test_dump_json_is_indented_and_unicode() -> None:
    text = dump_document(DOC, "json")
    assert text.startswith('{\n  "name": "Triage — tickets"')
    assert json.loads(text) == DOC


def test_dump_is_default_yaml() -> None:
    assert dump_document({"a": 1}) == "a: 1\n"


def test_strings_that_look_like_other_types_survive_yaml() -> None:
    data = {"vars": {"a": "yes", "b": "on", "c": "null", "d": "1.0", "e": "2024-01-01",
                     "f": "{{ trigger.x }}", "g": "- item", "h": "#not a comment"}}
    assert parse_document(dump_document(data)) == data
