"""``{{ JMESPath }}`` templates and conditions: rendering, errors, static analysis, safety."""

from __future__ import annotations

from typing import Any

import pytest

from hub.expressions import (
    ExpressionError,
    compile_condition,
    compile_template,
    evaluate_condition,
    root_references,
    truthy,
)

CTX: dict[str, Any] = {
    "trigger": {
        "name": "Ada",
        "amount": 150,
        "ratio": 0.5,
        "tags": ["vip", "new"],
        "customer": {"email": "ada@example.test", "city": None},
        "items": [
            {"sku": "b", "price": 20, "qty": 1},
            {"sku": "a", "price": 5, "qty": 3},
        ],
        "empty": "",
        "zero": 0,
    },
    "steps": {"classify": {"label": "billing", "score": 0.93}},
    "vars": {"threshold": 100, "team": "support"},
}


def render(value: Any, ctx: dict[str, Any] | None = None) -> Any:
    return compile_template(value).render(CTX if ctx is None else ctx)


def refs(source: str) -> list[tuple[str, str | None]]:
    return list(root_references(compile_condition(source)))


# --- rendering ------------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ trigger.amount }}", 150),
    ("{{ trigger.ratio }}", 0.5),
    ("{{ trigger.tags }}", ["vip", "new"]),
    ("{{ trigger.customer }}", {"email": "ada@example.test", "city": None}),
    ("{{ trigger.customer.city }}", None),
    ("{{ trigger.missing.deeper }}", None),
    ("  {{ trigger.amount }}  ", 150),
    ("{{trigger.amount}}", 150),
    ("{{ steps.classify.score }}", 0.93),
])
def test_whole_expression_renders_raw_value(template: str, expected: Any) -> None:
    assert render(template) == expected


@pytest.mark.parametrize(("template", "expected"), [
    ("Hi {{ trigger.name }}!", "Hi Ada!"),
    ("amount={{ trigger.amount }}", "amount=150"),
    ("ratio {{ trigger.ratio }}", "ratio 0.5"),
    ("tags: {{ trigger.tags }}", 'tags: ["vip","new"]'),
    ("c: {{ trigger.customer }}", 'c: {"email":"ada@example.test","city":null}'),
    ("city=[{{ trigger.customer.city }}]", "city=[]"),
    ("{{ trigger.name }} {{ vars.team }}", "Ada support"),
    ("{{ trigger.name }}{{ trigger.amount }}", "Ada150"),
    ("ok: {{ `true` }}", "ok: true"),
    ("é {{ `\"ü\"` }}", "é ü"),
])
def test_mixed_text_renders_string(template: str, expected: str) -> None:
    assert render(template) == expected


def test_nested_dicts_and_lists_render_recursively() -> None:
    template = {
        "to": "{{ trigger.customer.email }}",
        "meta": {"label": "{{ steps.classify.label }}", "n": ["{{ trigger.amount }}", 7]},
        "text": "Dear {{ trigger.name }}",
        "list": [{"deep": ["{{ vars.threshold }}"]}],
    }
    assert render(template) == {
        "to": "ada@example.test",
        "meta": {"label": "billing", "n": [150, 7]},
        "text": "Dear Ada",
        "list": [{"deep": [100]}],
    }


@pytest.mark.parametrize("value", [
    42, 1.5, True, False, None, "plain text", "", "a { b } c", "single } brace {",
    {"k": "v", "n": 1}, [1, "two", None], {"nested": [{"x": "y"}]},
])
def test_constants_are_untouched(value: Any) -> None:
    tpl = compile_template(value)
    assert tpl.render(CTX) == value
    assert list(tpl.expressions()) == []


def test_constant_string_is_const_kind() -> None:
    assert compile_template("no expressions").kind == "const"
    assert compile_template("{{ a }}").kind == "expr"
    assert compile_template("x {{ a }}").kind == "text"


def test_render_does_not_mutate_context() -> None:
    ctx = {"trigger": {"items": [3, 1, 2]}, "steps": {}, "vars": {}}
    assert render("{{ sort(trigger.items) }}", ctx) == [1, 2, 3]
    assert ctx["trigger"]["items"] == [3, 1, 2]


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ `42` }}", 42),
    ("{{ `[1, 2]` }}", [1, 2]),
    ('{{ `{"a": {"b": 1}}` }}', {"a": {"b": 1}}),
    ("{{ `null` }}", None),
    ("{{ 'raw string' }}", "raw string"),
    ("{{ 'it\\'s' }}", "it's"),
])
def test_literals(template: str, expected: Any) -> None:
    assert render(template) == expected


def test_braces_inside_a_literal_are_refused() -> None:
    """'}}' always ends an expression, even inside a literal: no escaping surprises."""
    with pytest.raises(ExpressionError):
        compile_template("{{ '{{ not a template }}' }} tail")


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ length(trigger.tags) }}", 2),
    ("{{ length(trigger.name) }}", 3),
    ("{{ join(', ', trigger.tags) }}", "vip, new"),
    ("{{ contains(trigger.tags, 'vip') }}", True),
    ("{{ contains(trigger.tags, 'gold') }}", False),
    ("{{ starts_with(trigger.customer.email, 'ada') }}", True),
    ("{{ sum(trigger.items[].price) }}", 25),
    ("{{ max_by(trigger.items, &price).sku }}", "b"),
    ("{{ sort_by(trigger.items, &price)[].sku }}", ["a", "b"]),
    ("{{ to_string(trigger.amount) }}", "150"),
    ("{{ to_number('12') }}", 12),
    ("{{ keys(steps.classify) }}", ["label", "score"]),
    ("{{ not_null(trigger.customer.city, 'n/a') }}", "n/a"),
    ("{{ trigger.items[?price > `10`].sku }}", ["b"]),
    ("{{ trigger.items[*].{s: sku, total: qty} }}", [{"s": "b", "total": 1},
                                                      {"s": "a", "total": 3}]),
    ("{{ trigger.amount > vars.threshold }}", True),
    ("{{ trigger.tags | [0] }}", "vip"),
    ("{{ trigger.customer.city || 'unknown' }}", "unknown"),
])
def test_functions_and_operators(template: str, expected: Any) -> None:
    assert render(template) == expected


# --- conditions -----------------------------------------------------------------------------


@pytest.mark.parametrize("source", [
    "trigger.amount > `100`",
    "{{ trigger.amount > `100` }}",
    "  {{trigger.amount > `100`}}  ",
    "contains(trigger.tags, 'vip') && vars.team == 'support'",
])
def test_condition_with_or_without_braces(source: str) -> None:
    assert evaluate_condition(compile_condition(source), CTX) is True


@pytest.mark.parametrize(("source", "expected"), [
    ("trigger.zero", True),  # 0 is truthy in JMESPath, unlike Python
    ("`0.0`", True),
    ("'0'", True),
    ("`[0]`", True),
    ("`{\"a\": null}`", True),
    ("trigger.amount", True),
    ("trigger.empty", False),
    ("trigger.customer.city", False),
    ("trigger.missing", False),
    ("`[]`", False),
    ("`{}`", False),
    ("`false`", False),
    ("`true`", True),
    ("!(trigger.empty)", True),
    ("!trigger.empty", False),  # JMESPath binds '!' tighter than '.': (!trigger).empty
    ("trigger.amount < `100`", False),
])
def test_condition_truthiness(source: str, expected: bool) -> None:
    assert evaluate_condition(compile_condition(source), CTX) is expected


@pytest.mark.parametrize(("value", "expected"), [
    (0, True), (0.0, True), ("0", True), ("false", True), ([None], True), ({"a": 0}, True),
    (None, False), (False, False), ("", False), ([], False), ({}, False), (True, True),
])
def test_truthy(value: Any, expected: bool) -> None:
    assert truthy(value) is expected


# --- syntax errors --------------------------------------------------------------------------


@pytest.mark.parametrize(("template", "fragment"), [
    ("{{ trigger.name", "unbalanced"),
    ("trigger.name }}", "unbalanced"),
    ("Hi {{ trigger.name }} and {{ vars.team", "unbalanced"),
    ("Hi {{ trigger.name }} }}", "unbalanced"),
    ("{{ }}", "empty expression"),
    ("{{}}", "empty expression"),
    ("a {{   }} b", "empty expression"),
    ("{{ trigger. }}", "invalid expression 'trigger.'"),
    ("{{ trigger[ }}", "invalid expression 'trigger['"),
    ("{{ a ~ b }}", "invalid expression 'a ~ b'"),
    ("{{ a ++ b }}", "invalid expression"),
    ("{{ $x }}", "invalid expression"),
    ("x {{ a. }} y", "invalid expression 'a.'"),
])
def test_syntax_errors(template: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_template(template)
    assert fragment in str(info.value)
    assert "\n" not in str(info.value)


def test_syntax_error_inside_nested_value() -> None:
    with pytest.raises(ExpressionError, match="invalid expression"):
        compile_template({"a": [{"b": "{{ bad[ }}"}]})


@pytest.mark.parametrize(("source", "fragment"), [
    ("", "empty expression"),
    ("   ", "empty expression"),
    ("{{ }}", "empty expression"),
    ("trigger.", "invalid expression"),
    ("{{ a == }}", "invalid expression"),
])
def test_condition_syntax_errors(source: str, fragment: str) -> None:
    with pytest.raises(ExpressionError, match=fragment):
        compile_condition(source)


@pytest.mark.parametrize(("template", "fragment"), [
    ("{{ nope(trigger) }}", "unknown function nope()"),
    ("{{ length(a, b) }}", "length() takes 1 argument(s), got 2"),
    ("{{ join(',') }}", "join() takes 2 argument(s), got 1"),
    ("{{ not_null() }}", "not_null() takes 1 or more argument(s), got 0"),
    ("{{ sort_by(trigger.items, &upper(sku)) }}", "unknown function upper()"),
])
def test_functions_checked_when_compiling(template: str, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        compile_template(template)
    assert fragment in str(info.value)


def test_variadic_function_accepts_many_arguments() -> None:
    assert render("{{ not_null(trigger.x, trigger.y, trigger.name) }}") == "Ada"


def test_deep_nesting_is_an_expression_error() -> None:
    deep = "[" * 1500 + "a" + "]" * 1500
    with pytest.raises(ExpressionError, match="nested too deeply"):
        compile_template("{{ " + deep + " }}")


# --- evaluation errors ----------------------------------------------------------------------


@pytest.mark.parametrize("template", [
    "{{ length(trigger.amount) }}",
    "{{ sum(trigger.tags) }}",
    "{{ join(', ', trigger.amount) }}",
    "{{ sort_by(trigger.items, &customer) }}",
    "Total: {{ abs(trigger.name) }}",
    "{{ trigger.name > `1` }}",  # jmespath raises a bare TypeError here
])
def test_evaluation_errors(template: str) -> None:
    tpl = compile_template(template)
    with pytest.raises(ExpressionError, match="cannot evaluate"):
        tpl.render(CTX)


def test_condition_evaluation_error() -> None:
    expr = compile_condition("length(trigger.amount) > `1`")
    with pytest.raises(ExpressionError, match="cannot evaluate 'length"):
        evaluate_condition(expr, CTX)


# --- expressions() and root_references ------------------------------------------------------


def test_expressions_yield_relative_paths() -> None:
    tpl = compile_template({"a": "{{ trigger.x }}", "b": ["c", {"d": "x {{ vars.y }} {{ z }}"}]})
    paths = [(path, expr.expression) for path, expr in tpl.expressions()]
    assert paths == [(".a", "trigger.x"), (".b[1].d", "vars.y"), (".b[1].d", "z")]


@pytest.mark.parametrize(("source", "expected"), [
    ("trigger", [("trigger", None)]),
    ("trigger.name", [("trigger", "name")]),
    ("steps.classify.label", [("steps", "classify")]),
    ('steps."my-step".x', [("steps", "my-step")]),
    ("steps.a[0].x", [("steps", "a")]),
    ("steps.a[0][1]", [("steps", "a")]),
    ("steps.a[1:]", [("steps", "a")]),
    ("steps.a[]", [("steps", "a")]),
    ("steps.a.*", [("steps", "a")]),
    ("steps.a[*].b", [("steps", "a")]),
    ("steps.*.x", [("steps", None)]),
    ("steps[*].x", [("steps", None)]),
    ("steps[0]", [("steps", None)]),
    ("trigger[0].x", [("trigger", None)]),
    ("trigger.items[?price > vars.min].sku", [("trigger", "items")]),
    ("steps.a.b[?c].d | [0]", [("steps", "a")]),
    ("trigger.a | vars.b", [("trigger", "a")]),
    ("length(steps.s.items)", [("steps", "s")]),
    ("join(', ', [trigger.a, vars.b])", [("trigger", "a"), ("vars", "b")]),
    ("{x: trigger.a, y: steps.s.out}", [("trigger", "a"), ("steps", "s")]),
    ("[trigger.a, vars.b]", [("trigger", "a"), ("vars", "b")]),
    ("sort_by(trigger.items, &price)[0]", [("trigger", "items")]),
    ("max_by(steps.s.items, &other.n).n", [("steps", "s")]),
    ("(a || b).c", [("a", None), ("b", None)]),
    ("(trigger.x || steps.s.y).z", [("trigger", "x"), ("steps", "s")]),
    ("trigger.a == steps.b.c && vars.x", [("trigger", "a"), ("steps", "b"), ("vars", "x")]),
    ("!vars.flag", [("vars", None)]),  # JMESPath parses this as (!vars).flag
    ("!(vars.flag)", [("vars", "flag")]),
    ("`1`", []),
    ("'text'", []),
    ("trigr.x", [("trigr", "x")]),
])
def test_root_references(source: str, expected: list[tuple[str, str | None]]) -> None:
    assert refs(source) == expected


# --- security: a data-only language, never code ---------------------------------------------


class _Canary:
    """Records any attribute access or call an expression might make on a Python object."""

    def __init__(self) -> None:
        self.touched: list[str] = []

    def __getattr__(self, name: str) -> Any:
        self.touched.append(name)
        raise AttributeError(name)

    def get(self, key: str) -> None:
        self.touched.append(f"get({key})")

    def __call__(self, *args: Any) -> None:
        self.touched.append("call")


@pytest.mark.parametrize("template", [
    "{{ __import__('os') }}",
    "{{ __import__('os').system('touch /tmp/pwned') }}",
    "{{ eval('1+1') }}",
    "{{ exec('x') }}",
    "{{ open('/etc/passwd') }}",
    "{{ trigger.__class__.__mro__[1].__subclasses__() }}",
    "{{ 7*7 }}",
    "{{ 7 * 7 }}",
    "{{ config.items() }}",
    "{{ lipsum.__globals__() }}",
    "{{ self.__init__.__globals__['__builtins__'] }}",
    "{{ trigger|attr('__class__') }}",
    "{{ trigger['__class__'] }}",
    "{{ range(10) }}",
    "{{ lambda: 1 }}",
    "{{ ${7*7} }}",
    "{{ #{7*7} }}",
    "{{ {{7*7}} }}",
])
def test_code_never_compiles(template: str) -> None:
    with pytest.raises(ExpressionError):
        compile_template(template)


@pytest.mark.parametrize(("template", "expected"), [
    ("{{ trigger.__class__ }}", None),
    ("{{ trigger.__dict__ }}", None),
    ("{{ trigger.__class__.__mro__ }}", None),
    ('{{ trigger."__class__" }}', None),
    ("{{ __builtins__ }}", None),
    ("{{ __import__ }}", None),
    ("{{ trigger.keys }}", None),
    ("{{ trigger.name.upper }}", None),
    ("{{ lipsum.__globals__ }}", None),
    ("{{ self.__init__.__globals__.__builtins__ }}", None),
    ("{{ ''.__class__ }}", None),
    ("{{ [].__class__ }}", None),
    ("{{ '__import__(\"os\")' }}", '__import__("os")'),
    ("{% for x in trigger %}{{ x }}{% endfor %}", "{% for x in trigger %}{% endfor %}"),
    ("{% for x in y %}", "{% for x in y %}"),
    ("${7*7}", "${7*7}"),
    ("{{ `\"{{7*7}}\"` }}", None),
])
def test_attribute_lookups_are_plain_data(template: str, expected: Any) -> None:
    ctx = {"trigger": {"name": "Ada", "x": None}, "steps": {}, "vars": {}}
    if "{{7*7}}" in template:  # a '}}' inside a literal ends the expression: refused
        with pytest.raises(ExpressionError):
            compile_template(template)
        return
    assert compile_template(template).render(ctx) == expected


def test_python_objects_in_context_are_never_touched() -> None:
    canary = _Canary()
    ctx = {"trigger": {"obj": canary}, "steps": {}, "vars": {}}
    for template in ("{{ trigger.obj.__class__ }}", "{{ trigger.obj.system }}",
                     "{{ trigger.obj.anything.deeper }}"):
        assert compile_template(template).render(ctx) is None
    assert canary.touched == []


def test_rendering_templated_data_does_not_recurse() -> None:
    """A value that looks like a template is data: it is never rendered a second time."""
    ctx = {"trigger": {"text": "{{ vars.secret }}"}, "steps": {}, "vars": {"secret": "s3cr3t"}}
    assert render("{{ trigger.text }}", ctx) == "{{ vars.secret }}"
    assert render("echo {{ trigger.text }}", ctx) == "echo {{ vars.secret }}"
