"""Expression limits: what compiles (static checks), what evaluates (visits, time, value sizes,
costly inputs), poison values, and the linear template scanner."""

from __future__ import annotations

import json
import time
from typing import Any

import jmespath
import pytest

from hub.expressions import (
    DEDUPE,
    ExpressionError,
    ExpressionLimit,
    Limits,
    compile_condition,
    compile_expression,
    compile_template,
    evaluate,
    limits,
)
from hub.expressions.budget import Budget
from hub.expressions.interpreter import search

#: the issue's example: 24 doublings of the input inside to_string
ISSUE = "length(to_string(trigger.a" + " | [@,@]" * 24 + "))"


def _limit(fn: Any, *args: Any) -> ExpressionLimit:
    with pytest.raises(ExpressionLimit) as info:
        fn(*args)
    assert info.value.code == "expression_limit"
    return info.value


def test_error_codes() -> None:
    assert ExpressionError("x").code == "expression_error"
    assert ExpressionLimit("x").code == "expression_limit"
    assert issubclass(ExpressionLimit, ExpressionError)


# --- static checks ---------------------------------------------------------------------------


def test_the_issue_example_is_refused_when_compiling() -> None:
    started = time.perf_counter()
    err = _limit(compile_template, "{{ " + ISSUE + " }}")
    assert "16,777,216" in str(err) and time.perf_counter() - started < 1


@pytest.mark.parametrize("source", [
    "a" + " | [@,@]" * 11,
    "a[*].[@, @, @, @][]" + " | [@, @, @, @, @, @]" * 4,
    "map(&[@, @, @, @], a)" + " | [@,@,@,@,@,@,@,@]" * 3,
    "{x: @, y: @}" + " | [x, y, x, y]" * 5,
    "join(to_string(@), [to_string(@)])" + " | [@,@]" * 10,
    "`\"" + "x" * 100 + "\"`" + " | [@,@]" * 11,  # a literal doubled is a blow-up too
    "(a == b)" + " | [@,@]" * 11,
])
def test_growth_under_pipes_and_projections_is_refused(source: str) -> None:
    assert "multiply the size" in str(_limit(compile_expression, source))


@pytest.mark.parametrize("source", [
    "a" + " | [@,@]" * 9,  # 512: allowed, the run-time limits watch it
    "items[*].{id: id, name: name, email: email, tags: tags, addr: addr.city}",
    "{a: a, b: b, c: c.d, e: e[0], f: f[1:]} | {a: a, b: b, c: c, e: e, f: f}",
    "sort_by(items, &price)[*].{sku: sku, total: price}",
    "merge(a, b, c)", "not_null(a, b, c)",
])
def test_ordinary_expressions_compile(source: str) -> None:
    compile_expression(source)


def test_expression_length_nodes_and_depth_are_capped() -> None:
    assert "longer than" in str(_limit(compile_expression, "a" * (limits.MAX_EXPRESSION_CHARS
                                                                  + 1)))
    wide = "[" + ", ".join(["a"] * 1100) + "]"
    assert "syntax nodes" in str(_limit(compile_expression, wide))
    deep = "[" * 80 + "a" + "]" * 80
    assert "nested deeper" in str(_limit(compile_expression, deep))


def test_conditions_get_the_same_checks() -> None:
    _limit(compile_condition, "{{ " + ISSUE + " }}")


# --- templates: linear scanning and caps -----------------------------------------------------


@pytest.mark.parametrize("text", ["{{" * 16_000, "{{ a }}" + "{{" * 30_000, "}}" * 20_000,
                                  "x {{ a }" * 5_000])
def test_brace_floods_are_rejected_fast(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(ExpressionError):
        compile_template(text)
    assert time.perf_counter() - started < 0.5  # was 15 s for the first one


def test_template_length_and_expression_count_are_capped() -> None:
    long = "{{ a }}" + " " * limits.MAX_TEMPLATE_CHARS
    assert "template is longer" in str(_limit(compile_template, long))
    many = " ".join(["{{ a }}"] * (limits.MAX_TEMPLATE_EXPRESSIONS + 1))
    assert "more than" in str(_limit(compile_template, many))
    assert compile_template("plain " * 20_000).kind == "const"  # no braces: not a template


def test_a_whole_expression_may_contain_closing_braces() -> None:
    tpl = compile_template("{{ {a: {b: trigger.x}} }}")
    assert tpl.render({"trigger": {"x": 1}}) == {"a": {"b": 1}}


# --- run-time limits -------------------------------------------------------------------------


def test_the_issue_example_stops_at_run_time_too() -> None:
    parsed = jmespath.compile(ISSUE)  # as if it had been stored before the static check
    started = time.perf_counter()
    err = _limit(search, parsed, {"trigger": {"a": "x" * 100}}, Budget(ISSUE))
    assert time.perf_counter() - started < 0.5 and "bytes" in str(err)


def test_doubling_within_the_static_bound_stops_on_large_data() -> None:
    tpl = compile_template({"n": "{{ length(to_string(trigger.a" + " | [@,@]" * 9 + ")) }}"})
    value: Any = "x"
    for _ in range(9):
        value = [value, value]
    assert tpl.render({"trigger": {"a": "x"}}) == {"n": len(json.dumps(value).replace(" ", ""))}
    started = time.perf_counter()
    _limit(tpl.render, {"trigger": {"a": "x" * 60_000}})
    assert time.perf_counter() - started < 0.5


def test_a_rendered_template_is_measured_as_a_whole() -> None:
    tpl = compile_template({f"k{i}": "{{ trigger.a }}" for i in range(40)})
    _limit(tpl.render, {"trigger": {"a": "x" * 500_000}})  # 40 x 500 KB > 16 MiB


def test_costly_functions_check_their_input() -> None:
    big = {"trigger": {"a": ["x" * 1000] * 2000}}  # about 2 MB
    for source in ("to_string(trigger.a)", "join(',', trigger.a)", "sort(trigger.a)",
                   "reverse(trigger.a)", "contains(trigger.a, 'y')", "trigger.a == trigger.a"):
        assert "over about" in str(_limit(compile_template("{{ " + source + " }}").render, big))
    assert compile_template("{{ length(trigger.a) }}").render(big) == 2000


def test_text_templates_count_as_costly() -> None:
    tpl = compile_template("value: {{ trigger.a }}")
    _limit(tpl.render, {"trigger": {"a": ["x" * 1000] * 2000}})


def test_visits_and_time_are_bounded() -> None:
    data = {"trigger": {"items": [{"a": i} for i in range(300_000)]}}
    err = _limit(compile_template("{{ trigger.items[*].a }}").render, data)
    assert "evaluation steps" in str(err) or "longer than" in str(err)
    tight = Limits(visits=10**9, seconds=0.01)
    expr = compile_expression("items[*].{a: a, b: a, c: a}")
    assert "longer than" in str(_limit(evaluate, expr, data["trigger"], tight))


def test_deeply_built_values_are_refused() -> None:
    source = "a" + " | [@]" * 60
    expr = compile_expression(source)
    deep: Any = 0
    for _ in range(60):
        deep = [deep]
    assert "nested deeper" in str(_limit(evaluate, expr, {"a": deep}, Limits(value_depth=100)))


def test_dedupe_limits_are_tighter() -> None:
    expr = compile_expression("to_string(body.a | [@,@] | [@,@] | [@,@])")
    assert evaluate(expr, {"body": {"a": "x" * 100_000}})  # fine in a step
    _limit(evaluate, expr, {"body": {"a": "x" * 600_000}}, DEDUPE)


# --- poison values ---------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "ceil(to_number('1e999'))", "floor(to_number('-1e999'))",
    "ceil(to_number(`\"1e999\"`))", "sum([`1e308`, `1e308`])", "avg([`1e308`, `1e308`])",
    "abs(to_number('nan'))",
])
def test_overflow_and_non_finite_numbers_are_expression_errors(source: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_template("{{ " + source + " }}").render({})
    assert info.value.code in ("expression_error", "expression_limit")


def test_to_number_of_huge_text_is_null() -> None:
    assert compile_template("{{ to_number('1e999') }}").render({}) is None
    assert compile_template("{{ to_number(trigger.n) }}").render(
        {"trigger": {"n": "9" * 5000}}) is None


@pytest.mark.parametrize(("value", "error"), [(float("inf"), "OverflowError"),
                                              (float("nan"), "ValueError")])
def test_python_errors_inside_functions_become_expression_errors(value: float,
                                                                 error: str) -> None:
    for fn in ("ceil", "floor"):  # e.g. an action output holding a float JSON cannot carry
        with pytest.raises(ExpressionError, match=error):
            compile_template("{{ " + fn + "(trigger.n) }}").render({"trigger": {"n": value}})
