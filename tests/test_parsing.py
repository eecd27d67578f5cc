"""The shared JSON and YAML parsing: depth measured without parsing (strings and escapes
respected), recursion never escapes, NaN refused, YAML anchors/aliases refused."""

from __future__ import annotations

import json
import time

import pytest

from hub.errors import BadRequest
from hub.parsing import (
    MAX_YAML_NODES,
    check_depth,
    json_depth_exceeds,
    json_problem,
    loads_json,
    loads_yaml,
)
from hub.settings import Settings


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(("text", "depth"), [
    ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('["[[[[", "]]]]"]', 1),
    ('{"a\\"[[": "\\\\", "b": [[]]}', 3), ('["\\\\\\"[[[["]', 1), ('"[[["', 0),
    ('{"k": "}}}}}}"}', 1),
])
def test_depth_is_measured_outside_strings(text: str, depth: int) -> None:
    assert json_depth_exceeds(text, depth) is False
    if depth:
        assert json_depth_exceeds(text, depth - 1) is True
    json.loads(text)  # the cases are valid JSON


def test_brackets_in_strings_cannot_hide_real_depth() -> None:
    text = '{"a": "]]]]]]]]]]", "b": ' + nested(20) + "}"
    assert json_depth_exceeds(text, 20) and not json_depth_exceeds(text, 21)


@pytest.mark.parametrize("depth", [65, 1_000, 200_000])
def test_deep_json_is_too_deep_before_parsing(depth: int) -> None:
    started = time.perf_counter()
    with pytest.raises(BadRequest) as info:
        loads_json(nested(depth), max_depth=64)
    assert info.value.code == "too_deep" and info.value.status == 400
    assert time.perf_counter() - started < 1


def test_recursion_in_the_parser_is_caught_too() -> None:
    with pytest.raises(BadRequest) as info:  # a limit above Python's recursion limit
        loads_json(nested(100_000), max_depth=10**6)
    assert info.value.code == "too_deep"


@pytest.mark.parametrize("text", ['"' + '\\"' * 300_000, '"' * 500_001, '"' + "\\" * 400_001,
                                  "[" * 10 + '"' + "]" * 300_000])
def test_pathological_strings_stay_linear(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(BadRequest):
        loads_json(text)
    assert time.perf_counter() - started < 1


def test_nan_and_infinity_are_refused() -> None:
    for text in ('{"a": NaN}', "[Infinity]", "[-Infinity]"):
        with pytest.raises(BadRequest) as info:
            loads_json(text)
        assert info.value.code == "malformed_json"
        problem = json_problem(text, 64)
        assert problem is not None and problem.code == "malformed_json"
    assert json_problem('{"NaN": "Infinity", "n": 1E5}', 64) is None


def test_yaml_limits() -> None:
    for text in ("a: &x 1\n", "a: &x [1]\nb: *x\n", "a: &x {b: 1}\nc: {<<: *x}\n"):
        with pytest.raises(BadRequest) as info:
            loads_yaml(text)
        assert info.value.code == "yaml_alias_refused"
    for depth in (65, 5_000):
        with pytest.raises(BadRequest) as info:
            loads_yaml(nested(depth))
        assert info.value.code == "too_deep"
    with pytest.raises(BadRequest) as info:
        loads_yaml("[" + ", ".join(["1"] * (MAX_YAML_NODES + 1)) + "]")
    assert info.value.code == "document_too_large" and info.value.status == 413
    assert loads_yaml("d: 2024-01-01\nn: 1\n") == {"d": "2024-01-01", "n": 1}


def test_check_depth_of_parsed_values() -> None:
    value: object = 1
    for i in range(70):
        value = {"a": value} if i % 2 else [value]
    with pytest.raises(BadRequest):
        check_depth(value, 64)
    check_depth(value, 70)
    check_depth("scalar", 1)


def test_hook_body_limit_never_exceeds_the_operator_cap() -> None:
    s = Settings(hook_max_body=1000, hook_max_body_limit=5000)
    assert s.hook_body_limit(None) == 1000
    assert s.hook_body_limit(3000) == 3000
    assert s.hook_body_limit(64 * 1024 * 1024) == 5000
    assert Settings(hook_max_body=10_000, hook_max_body_limit=5000).hook_body_limit(None) == 5000
