"""compile_zap: every validation rule, reported with the exact path where it was found."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pluggy
import pytest

from hub.errors import ZapInvalid
from hub.plugins import create_plugin_manager
from hub.registry import Registry, build_registry
from hub.settings import Settings
from hub.zaps.compile import CompiledZap, compile_zap
from hub.zaps.model import RetryPolicy, Zap
from plugins import zap_fixtures


@pytest.fixture
def pm() -> Iterator[pluggy.PluginManager]:
    manager = create_plugin_manager(load_entrypoints=False, settings=Settings())
    manager.register(zap_fixtures, name="zapfixtures")
    try:
        yield manager
    finally:
        manager.unregister(name="zapfixtures")


@pytest.fixture
def registry(pm: pluggy.PluginManager) -> Registry:
    return build_registry(pm)


@pytest.fixture
def builtin_registry() -> Registry:
    return build_registry(create_plugin_manager(load_entrypoints=False, settings=Settings()))


def zap(*steps: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A valid zap document around ``steps`` (one transform step when none are given)."""
    doc: dict[str, Any] = {
        "name": "Triage",
        "trigger": {"kind": "manual"},
        "steps": list(steps) or [{"id": "shape", "use": "core.transform", "input": {"a": 1}}],
    }
    doc.update(extra)
    return doc


def errors(doc: Any, registry: Registry) -> list[dict[str, str]]:
    with pytest.raises(ZapInvalid) as info:
        compile_zap(doc, registry)
    assert info.value.code == "invalid_zap"
    assert info.value.status == 422
    assert info.value.extra == {"errors": info.value.errors}
    return info.value.errors


def only_error(doc: Any, registry: Registry) -> tuple[str, str]:
    errs = errors(doc, registry)
    assert len(errs) == 1, errs
    return errs[0]["path"], errs[0]["message"]


TRANSFORM = {"id": "shape", "use": "core.transform", "input": {"text": "{{ trigger.text }}"}}


# --- document shape (pydantic) ---------------------------------------------------------------


def test_unknown_step_field(registry: Registry) -> None:
    doc = zap({"id": "a", "use": "core.transform", "inptu": {"x": 1}})
    assert only_error(doc, registry) == ("steps[0].inptu", "unknown field")


def test_unknown_top_level_field(registry: Registry) -> None:
    assert only_error(zap(stesp=[]), registry) == ("stesp", "unknown field")


def test_unknown_trigger_field(registry: Registry) -> None:
    doc = zap(trigger={"kind": "manual", "confg": {}})
    assert only_error(doc, registry) == ("trigger.confg", "unknown field")


def test_missing_name(registry: Registry) -> None:
    doc = zap()
    del doc["name"]
    assert only_error(doc, registry) == ("name", "Field required")


def test_empty_name(registry: Registry) -> None:
    path, message = only_error(zap(name=""), registry)
    assert path == "name"
    assert "at least 1 character" in message


def test_missing_trigger(registry: Registry) -> None:
    doc = zap()
    del doc["trigger"]
    assert only_error(doc, registry) == ("trigger", "Field required")


def test_empty_steps(registry: Registry) -> None:
    path, message = only_error(zap(steps=[]), registry)
    assert path == "steps"
    assert "at least 1 item" in message


@pytest.mark.parametrize("step_id", ["Shape", "1st", "with-dash", "with space", "", "a" * 64,
                                     "é"])
def test_bad_step_id(registry: Registry, step_id: str) -> None:
    path, message = only_error(zap({"id": step_id, "use": "core.transform"}), registry)
    assert path == "steps[0].id"
    assert "should match pattern" in message


@pytest.mark.parametrize("step_id", ["a", "_private", "step_2", "a" * 63])
def test_good_step_ids(registry: Registry, step_id: str) -> None:
    compiled = compile_zap(zap({"id": step_id, "use": "core.transform"}), registry)
    assert compiled.steps[0].step.id == step_id


@pytest.mark.parametrize("use", ["core", "Core.transform", "core.", ".transform",
                                 "core.transform.x", "core-x.transform", "core.Transform"])
def test_bad_use_pattern(registry: Registry, use: str) -> None:
    path, message = only_error(zap({"id": "a", "use": use}), registry)
    assert path == "steps[0].use"
    assert "should match pattern" in message


@pytest.mark.parametrize(("field", "value", "path"), [
    ("timeout", 0, "steps[0].timeout"),
    ("timeout", 86401, "steps[0].timeout"),
    ("retry", {"attempts": 0}, "steps[0].retry.attempts"),
    ("retry", {"attempts": 3, "jiter": True}, "steps[0].retry.jiter"),
    ("when", "x" * 4001, "steps[0].when"),
])
def test_step_field_bounds(registry: Registry, field: str, value: Any, path: str) -> None:
    step = {"id": "a", "use": "core.transform", field: value}
    assert only_error(zap(step), registry)[0] == path


def test_settings_bounds(registry: Registry) -> None:
    doc = zap(settings={"default_timeout": -1, "default_retry": {"factor": 0.5}})
    paths = [e["path"] for e in errors(doc, registry)]
    assert paths == ["settings.default_retry.factor", "settings.default_timeout"]


def test_not_a_mapping(registry: Registry) -> None:
    path, message = only_error(["not", "a", "zap"], registry)
    assert path == ""
    assert "valid dictionary" in message


# --- registry checks -------------------------------------------------------------------------


def test_duplicate_step_id(registry: Registry) -> None:
    doc = zap(TRANSFORM, {"id": "other", "use": "core.transform"}, TRANSFORM)
    assert only_error(doc, registry) == ("steps[2].id", "duplicate step id 'shape'")


def test_unknown_connector(registry: Registry) -> None:
    doc = zap({"id": "a", "use": "slakc.post"})
    assert only_error(doc, registry) == ("steps[0].use", "unknown connector 'slakc'")


def test_unknown_action_lists_available(registry: Registry) -> None:
    doc = zap(TRANSFORM, {"id": "a", "use": "core.clasify"})
    assert only_error(doc, registry) == (
        "steps[1].use", "unknown action 'core.clasify' (actions of 'core': transform, filter, "
        "paths, loop, delay, call_zap)")


def test_unknown_trigger_kind(registry: Registry, builtin_registry: Registry) -> None:
    doc = zap(trigger={"kind": "telepathy"})
    known = ", ".join(sorted(builtin_registry.trigger_kinds))
    assert "manual" in builtin_registry.trigger_kinds
    assert only_error(doc, builtin_registry) == (
        "trigger.kind", f"unknown trigger kind 'telepathy' (known: {known})")
    assert "every, " in only_error(doc, registry)[1]


def test_unknown_trigger_config_field(registry: Registry) -> None:
    doc = zap(trigger={"kind": "manual", "config": {"max_input_byte": 10}})
    assert only_error(doc, registry) == ("trigger.config.max_input_byte", "unknown field")


@pytest.mark.parametrize(("config", "fragment"), [
    ({"max_input_bytes": "lots"}, "valid integer"),
    ({"max_input_bytes": 1}, "greater than or equal to 2"),
    ({"max_input_bytes": 10**9}, "less than or equal to"),
])
def test_invalid_trigger_config_value(registry: Registry, config: dict[str, Any],
                                      fragment: str) -> None:
    path, message = only_error(zap(trigger={"kind": "manual", "config": config}), registry)
    assert path == "trigger.config.max_input_bytes"
    assert fragment in message


def test_trigger_config_required_field(registry: Registry) -> None:
    doc = zap(trigger={"kind": "every", "config": {}})
    assert only_error(doc, registry) == ("trigger.config.minutes", "Field required")
    compile_zap(zap(trigger={"kind": "every", "config": {"minutes": 5}}), registry)


def test_missing_required_input(registry: Registry) -> None:
    doc = zap({"id": "gate", "use": "core.filter"})
    assert only_error(doc, registry) == ("steps[0].input.condition", "missing required input")


def test_unknown_input_key_for_strict_model(registry: Registry) -> None:
    step = {"id": "gate", "use": "core.filter", "input": {"condition": True, "conditon": 1}}
    assert only_error(zap(step), registry) == (
        "steps[0].input.conditon", "unknown input (expected: condition)")


def test_free_form_input_accepts_any_key(registry: Registry) -> None:
    step = {"id": "a", "use": "core.transform", "input": {"anything": 1, "at all": [2]}}
    compile_zap(zap(step), registry)


def test_aliased_inputs(registry: Registry) -> None:
    base = {"id": "send", "use": "zf.send", "connection": "main"}
    for given in ({"to": "x", "replyTo": "y"}, {"to": "x", "reply_to": "y"}):
        compile_zap(zap({**base, "input": given}), registry)
    assert only_error(zap({**base, "input": {"to": "x", "reply": "y"}}), registry) == (
        "steps[0].input.reply", "unknown input (expected: to, body, replyTo)")


def test_connection_given_to_connector_without_credentials(registry: Registry) -> None:
    doc = zap({"id": "a", "use": "core.transform", "connection": "main"})
    assert only_error(doc, registry) == (
        "steps[0].connection", "connector 'core' takes no connection")


def test_connection_missing_for_connector_with_credentials(registry: Registry) -> None:
    doc = zap({"id": "a", "use": "zf.send", "input": {"to": "ops@example.test"}})
    assert only_error(doc, registry) == ("steps[0].connection", "connector 'zf' needs a connection")


def test_connection_given_for_connector_with_credentials(registry: Registry) -> None:
    step = {"id": "a", "use": "zf.send", "connection": "main", "input": {"to": "x"}}
    compiled = compile_zap(zap(step), registry)
    assert compiled.steps[0].action is zap_fixtures.Send


# --- expressions -----------------------------------------------------------------------------


@pytest.mark.parametrize(("where", "value", "path", "message"), [
    ("input", {"text": "{{ trigger.text. }}"}, "steps[0].input.text",
     "invalid expression 'trigger.text.'"),
    ("input", {"deep": {"list": ["ok", "{{ a[ }}"]}}, "steps[0].input.deep.list[1]",
     "invalid expression 'a['"),
    ("input", {"text": "Hi {{ trigger.name"}, "steps[0].input.text",
     "unbalanced '{{' / '}}' in template"),
    ("input", {"text": "{{ }}"}, "steps[0].input.text", "empty expression"),
    ("when", "trigger.amount >", "steps[0].when", "invalid expression 'trigger.amount >'"),
    ("when", "{{ }}", "steps[0].when", "empty expression"),
])
def test_bad_expression_syntax_in_step(registry: Registry, where: str, value: Any,
                                       path: str, message: str) -> None:
    step: dict[str, Any] = {"id": "a", "use": "core.transform", where: value}
    got_path, got_message = only_error(zap(step), registry)
    assert got_path == path
    assert got_message.startswith(message)


def test_every_bad_string_is_reported(registry: Registry) -> None:
    step = {"id": "a", "use": "core.transform",
            "input": {"a": "{{ ok }}", "b": "{{ bad. }}", "c": ["{{ }}"]}}
    assert [e["path"] for e in errors(zap(step), registry)] == [
        "steps[0].input.b", "steps[0].input.c[0]"]


def test_bad_expression_syntax_in_output(registry: Registry) -> None:
    path, message = only_error(zap(TRANSFORM, output={"x": "{{ steps.shape. }}"}), registry)
    assert path == "output.x"
    assert message.startswith("invalid expression 'steps.shape.'")


def test_unknown_function_is_a_compile_error(registry: Registry) -> None:
    step = {"id": "a", "use": "core.transform", "input": {"x": "{{ upper(trigger.name) }}"}}
    path, message = only_error(zap(step), registry)
    assert path == "steps[0].input.x"
    assert "unknown function upper()" in message


@pytest.mark.parametrize(("where", "value", "path"), [
    ("input", {"text": "{{ trigr.text }}"}, "steps[0].input.text"),
    ("input", {"list": ["{{ trigger.a }}", "x {{ trigr.b }}"]}, "steps[0].input.list[1]"),
    ("when", "trigr.ok", "steps[0].when"),
    ("when", "{{ trigr.ok }}", "steps[0].when"),
])
def test_unknown_root_name(registry: Registry, where: str, value: Any, path: str) -> None:
    step: dict[str, Any] = {"id": "a", "use": "core.transform", where: value}
    assert only_error(zap(step), registry) == (
        path, "unknown name 'trigr' (expected one of: trigger, steps, vars)")


def test_unknown_root_name_in_output(registry: Registry) -> None:
    assert only_error(zap(TRANSFORM, output="{{ trigr }}"), registry) == (
        "output", "unknown name 'trigr' (expected one of: trigger, steps, vars)")


def test_reference_to_unknown_step(registry: Registry) -> None:
    step = {"id": "reply", "use": "core.transform", "input": {"text": "{{ steps.clasify.label }}"}}
    assert only_error(zap(TRANSFORM, step), registry) == (
        "steps[1].input.text", "unknown step 'clasify'")


def test_reference_to_later_step(registry: Registry) -> None:
    first = {"id": "first", "use": "core.transform", "input": {"x": "{{ steps.second.y }}"},
             "when": "steps.second"}
    second = {"id": "second", "use": "core.transform"}
    assert errors(zap(first, second), registry) == [
        {"path": "steps[0].input.x", "message": "unknown step 'second' (it runs after this point)"},
        {"path": "steps[0].when", "message": "unknown step 'second' (it runs after this point)"},
    ]


def test_self_reference(registry: Registry) -> None:
    step = {"id": "loop", "use": "core.transform", "input": {"x": "{{ steps.loop.x }}"},
            "when": "steps.loop.x"}
    assert errors(zap(step), registry) == [
        {"path": "steps[0].input.x", "message": "step 'loop' cannot read its own output"},
        {"path": "steps[0].when", "message": "step 'loop' cannot read its own output"},
    ]


@pytest.mark.parametrize("expression", [
    "steps.shape.text",
    "steps.shape[0]",
    "steps.shape[*].a",
    "length(steps.shape)",
    "steps.*.text",
    "steps",
    "sort_by(steps.shape.items, &later_step.x)",
    "steps.shape.items[?steps.nope]",  # inside a filter: relative to each item, not the root
    "trigger.x | steps.nope",  # right of a pipe: relative to the left side's result
    "{a: vars.x, b: trigger.y, c: steps.shape}",
])
def test_valid_references(registry: Registry, expression: str) -> None:
    later = {"id": "later", "use": "core.transform", "input": {"x": f"{{{{ {expression} }}}}"},
             "when": expression}
    compile_zap(zap(TRANSFORM, later), registry)


def test_output_may_reference_every_step(registry: Registry) -> None:
    doc = zap(TRANSFORM, {"id": "last", "use": "core.transform"},
              output={"a": "{{ steps.shape }}", "b": "{{ steps.last }}", "c": "{{ vars.k }}"})
    compiled = compile_zap(doc, registry)
    assert compiled.output is not None
    ctx = {"trigger": {}, "steps": {"shape": 1, "last": 2}, "vars": {"k": 3}}
    assert compiled.output.render(ctx) == {"a": 1, "b": 2, "c": 3}


def test_output_reference_to_unknown_step(registry: Registry) -> None:
    assert only_error(zap(TRANSFORM, output="{{ steps.nope }}"), registry) == (
        "output", "unknown step 'nope'")


# --- collected errors ------------------------------------------------------------------------


def test_several_errors_collected_at_once(registry: Registry) -> None:
    doc = zap(
        {"id": "a", "use": "core.filter", "input": {"conditon": "{{ trigr.x }}"}},
        {"id": "b", "use": "core.clasify"},
        {"id": "a", "use": "zf.send", "input": {"to": "{{ steps.c.x }}"}, "when": "{{ }}"},
        {"id": "c", "use": "core.transform", "connection": "main"},
        trigger={"kind": "manual", "config": {"max_input_bytes": 1}},
        output="{{ vars.x. }}",
    )
    errs = errors(doc, registry)
    assert [e["path"] for e in errs] == [
        "trigger.config.max_input_bytes",
        "steps[0].input.condition",
        "steps[0].input.conditon",
        "steps[0].input.conditon",
        "steps[1].use",
        "steps[2].id",
        "steps[2].connection",
        "steps[2].input.to",
        "steps[2].when",
        "steps[3].connection",
        "output",
    ]
    messages = {(e["path"], e["message"]) for e in errs}
    assert ("steps[0].input.conditon",
            "unknown name 'trigr' (expected one of: trigger, steps, vars)") in messages
    assert ("steps[2].input.to", "unknown step 'c' (it runs after this point)") in messages
    with pytest.raises(ZapInvalid) as info:
        compile_zap(doc, registry)
    assert str(info.value) == ("trigger.config.max_input_bytes: Input should be greater than or "
                               "equal to 2 (and 10 more)")


def test_pydantic_errors_collected_at_once(registry: Registry) -> None:
    doc = {"trigger": {}, "steps": [{"id": "A", "use": "x"}], "extra": 1}
    paths = {e["path"] for e in errors(doc, registry)}
    assert paths == {"name", "trigger.kind", "steps[0].id", "steps[0].use", "extra"}


# --- valid zaps ------------------------------------------------------------------------------


def test_retry_and_timeout_defaults_from_zap_settings(registry: Registry) -> None:
    doc = zap(
        TRANSFORM,
        {"id": "own", "use": "core.transform", "timeout": 5, "retry": {"attempts": 4}},
        settings={"default_timeout": 30, "default_retry": {"attempts": 2, "backoff": 0.5}},
    )
    first, own = compile_zap(doc, registry).steps
    assert first.timeout == 30
    assert first.retry == RetryPolicy(attempts=2, backoff=0.5)
    assert own.timeout == 5
    assert own.retry == RetryPolicy(attempts=4)


def test_builtin_defaults(registry: Registry) -> None:
    (step,) = compile_zap(zap(), registry).steps
    assert step.timeout == 300.0
    assert step.retry == RetryPolicy()
    assert step.retry.attempts == 1
    assert step.when is None


def test_valid_zap_compiles(registry: Registry) -> None:
    doc = zap(
        {"id": "gate", "use": "core.filter", "input": {"condition": "{{ trigger.amount > `10` }}"}},
        {"id": "shape", "use": "core.transform", "name": "Shape it",
         "input": {"who": "{{ trigger.name }}", "msg": "Hi {{ trigger.name }}",
                   "n": 3, "passed": "{{ steps.gate.passed }}"},
         "when": "steps.gate.passed"},
        {"id": "send", "use": "zf.send", "connection": "main",
         "input": {"to": "{{ vars.to }}", "body": "{{ steps.shape.msg }}"}},
        description="Everything at once", vars={"to": "ops@example.test"},
        output={"sent": "{{ steps.send.sent }}"},
    )
    before = copy.deepcopy(doc)
    compiled = compile_zap(doc, registry)
    assert doc == before
    assert isinstance(compiled, CompiledZap)
    assert isinstance(compiled.zap, Zap)
    assert [s.step.id for s in compiled.steps] == ["gate", "shape", "send"]
    ctx = {"trigger": {"name": "Ada", "amount": 11}, "steps": {"gate": {"passed": True}},
           "vars": {}}
    assert compiled.steps[1].input.render(ctx) == {
        "who": "Ada", "msg": "Hi Ada", "n": 3, "passed": True}
    assert compiled.steps[1].when is not None
    assert compiled.steps[0].input.render(ctx) == {"condition": True}


def test_compile_accepts_a_zap_model(registry: Registry) -> None:
    model = Zap.model_validate(zap(TRANSFORM))
    assert compile_zap(model, registry).zap is model


def test_compile_with_builtins_only(builtin_registry: Registry) -> None:
    compiled = compile_zap(zap(TRANSFORM), builtin_registry)
    assert compiled.steps[0].action is builtin_registry.action("core.transform")
    assert only_error(zap({"id": "a", "use": "zf.send"}), builtin_registry) == (
        "steps[0].use", "unknown connector 'zf'")


# --- JSON Schema -----------------------------------------------------------------------------


def test_zap_json_schema_describes_steps() -> None:
    schema = Zap.model_json_schema()
    assert schema["title"] == "Zap"
    assert set(schema["required"]) == {"name", "trigger", "steps"}
    assert schema["additionalProperties"] is False
    steps = schema["properties"]["steps"]
    assert steps["type"] == "array"
    assert steps["minItems"] == 1
    step = schema["$defs"]["Step"]
    assert step["additionalProperties"] is False
    assert set(step["required"]) == {"id", "use"}
    assert step["properties"]["id"]["pattern"].startswith("^[a-z_]")
    assert step["properties"]["use"]["pattern"]
    for name in ("id", "use", "input", "when", "connection", "retry", "timeout"):
        assert step["properties"][name].get("description"), name
    assert "RetryPolicy" in schema["$defs"]
    assert "Trigger" in schema["$defs"]
