"""Validate a zap document against the registry and compile its expressions.

Every problem is reported with the path it was found at, e.g.
``steps[2].input.text: unknown step 'clasify'``; all problems are collected before failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

from jmespath.parser import ParsedResult
from pydantic import BaseModel, ValidationError

from hub import sdk
from hub.errors import ZapInvalid
from hub.expressions import (
    ROOTS,
    ExpressionError,
    Template,
    compile_condition,
    compile_template,
    root_references,
)
from hub.registry import Registry
from hub.zaps import flow
from hub.zaps.model import RetryPolicy, Step, Zap


@dataclass(frozen=True)
class CompiledStep:
    step: Step
    action: type[sdk.Action]
    input: Template
    when: ParsedResult | None
    retry: RetryPolicy
    timeout: float
    branches: tuple[CompiledBranch, ...] = ()  # core.paths
    children: tuple[CompiledStep, ...] = ()  # core.loop


@dataclass(frozen=True)
class CompiledBranch:
    name: str
    when: ParsedResult | None
    steps: tuple[CompiledStep, ...]


@dataclass(frozen=True)
class CompiledZap:
    zap: Zap
    steps: tuple[CompiledStep, ...]
    output: Template | None
    on_failure: tuple[CompiledStep, ...] = ()


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def pydantic_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    """Turn a pydantic error into ``{path, message}`` items under ``prefix``."""
    items = []
    for err in exc.errors(include_url=False, include_input=False):
        path = _loc(tuple(err["loc"]))
        full = f"{prefix}.{path}" if prefix and path else (prefix or path)
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        items.append({"path": full, "message": msg})
    return items


class _Checker:
    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.errors: list[dict[str, str]] = []
        self.current: str | None = None  # the step being checked
        self.roots: tuple[str, ...] = ROOTS  # names expressions may start with here
        self.seen: set[str] = set()  # step ids met so far, at any depth
        self.inside: dict[str, str] = {}  # loop sub-step id -> its loop's id
        self.ids: set[str] = set()  # every step id of the zap, nested ones included

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def refs(self, path: str, expr: ParsedResult, earlier: list[str], all_ids: set[str]) -> None:
        for root, nxt in root_references(expr):
            if root not in self.roots:
                self.error(path, f"unknown name '{root}' (expected one of: "
                           f"{', '.join(self.roots)})")
            elif root == "steps" and nxt is not None and nxt == self.current:
                self.error(path, f"step '{nxt}' cannot read its own output")
            elif root == "steps" and nxt is not None and nxt not in earlier:
                later = " (it runs after this point)" if nxt in all_ids else ""
                if nxt in self.inside and self.inside[nxt] in earlier:
                    loop = self.inside[nxt]
                    later = f" (it runs inside loop '{loop}': read steps.{loop}.results)"
                self.error(path, f"unknown step '{nxt}'{later}")

    def template(self, path: str, value: Any, earlier: list[str], ids: set[str]) -> Template | None:
        try:
            tpl = compile_template(value)
        except ExpressionError:
            for where, message in _template_errors(path, value):
                self.error(where, message)
            return None
        for rel, expr in tpl.expressions():
            self.refs(path + rel, expr, earlier, ids)
        return tpl

    def trigger(self, zap: Zap) -> None:
        kind = self.registry.trigger_kinds.get(zap.trigger.kind)
        if kind is None:
            known = ", ".join(sorted(self.registry.trigger_kinds))
            self.error("trigger.kind",
                       f"unknown trigger kind '{zap.trigger.kind}' (known: {known})")
            return
        try:
            kind.Config.model_validate(zap.trigger.config)
        except ValidationError as exc:
            self.errors += pydantic_errors(exc, "trigger.config")

    def action(self, path: str, step: Step) -> type[sdk.Action] | None:
        connector_key, _, action_key = step.use.partition(".")
        connector = self.registry.connectors.get(connector_key)
        if connector is None:
            self.error(f"{path}.use", f"unknown connector '{connector_key}'")
            return None
        action = self.registry.action(step.use)
        if action is None:
            known = ", ".join(a.key for a in connector.actions)
            self.error(f"{path}.use", f"unknown action '{step.use}' (actions of "
                       f"'{connector_key}': {known})")
            return None
        needs = connector.Credentials is not sdk.NoCredentials
        if needs and not step.connection and not connector.connection_optional:
            self.error(f"{path}.connection", f"connector '{connector_key}' needs a connection")
        elif step.connection and not needs:
            self.error(f"{path}.connection", f"connector '{connector_key}' takes no connection")
        return action

    def inputs(self, path: str, step: Step, model: type[BaseModel]) -> None:
        config = model.model_config
        by_name = bool(config.get("validate_by_name") or config.get("populate_by_name"))
        keys = {name: {info.alias or name} | ({name} if by_name else set())
                for name, info in model.model_fields.items()}
        for name, info in model.model_fields.items():
            if info.is_required() and not keys[name] & step.input.keys():
                self.error(f"{path}.input.{info.alias or name}", "missing required input")
        if config.get("extra") == "forbid":
            known = set().union(*keys.values())
            shown = ", ".join(i.alias or n for n, i in model.model_fields.items()) or "none"
            for key in step.input:
                if key not in known:
                    self.error(f"{path}.input.{key}", f"unknown input (expected: {shown})")


def _template_errors(path: str, value: Any) -> Iterator[tuple[str, str]]:
    """Where, inside a value that does not compile, each bad string is."""
    if isinstance(value, dict):
        for key, sub in value.items():
            yield from _template_errors(f"{path}.{key}", sub)
    elif isinstance(value, list):
        for index, sub in enumerate(value):
            yield from _template_errors(f"{path}[{index}]", sub)
    elif isinstance(value, str):
        try:
            compile_template(value)
        except ExpressionError as exc:
            yield path, str(exc)


def _step(chk: _Checker, zap: Zap, step: Step, path: str, earlier: list[str],
          ids: set[str]) -> CompiledStep | None:
    chk.current = step.id
    if step.id in chk.seen:
        chk.error(f"{path}.id", f"duplicate step id '{step.id}'")
    chk.seen.add(step.id)
    action = chk.action(path, step)
    if action is not None:
        chk.inputs(path, step, action.Input)
    tpl = chk.template(f"{path}.input", step.input, earlier, ids)
    when = None
    if step.when is not None:
        when = _condition(chk, f"{path}.when", step.when, earlier, ids)
    if action is None or tpl is None:
        return None
    retry = step.retry or zap.settings.default_retry
    timeout = step.timeout or zap.settings.default_timeout
    return CompiledStep(step, action, tpl, when, retry, timeout)


def _condition(chk: _Checker, path: str, text: str, earlier: list[str],
               ids: set[str]) -> ParsedResult | None:
    try:
        expr = compile_condition(text)
    except ExpressionError as exc:
        chk.error(path, str(exc))
        return None
    chk.refs(path, expr, earlier, ids)
    return expr


def _compile(chk: _Checker, zap: Zap, step: Step, path: str, earlier: list[str],
             where: str) -> CompiledStep | None:
    """Compile a step and, for flow steps, the steps it holds (``where``: see ``flow``)."""
    for at, message in flow.structure_problems(step, where):
        chk.error(f"{path}{at}", message)
    cs = _step(chk, zap, step, path, earlier, chk.ids)
    branches = tuple(_branches(chk, zap, step, path, earlier))
    children = tuple(_children(chk, zap, step, path, earlier))
    return None if cs is None else replace(cs, branches=branches, children=children)


def _sequence(chk: _Checker, zap: Zap, steps: list[Step], path: str, earlier: list[str],
              where: str) -> list[CompiledStep]:
    """Compile steps that run one after the other; each sees the ones before it."""
    inner, out = list(earlier), []
    for index, sub in enumerate(steps):
        cs = _compile(chk, zap, sub, f"{path}[{index}]", inner, where)
        if cs is not None:
            out.append(cs)
        inner.append(sub.id)
    return out


def _branches(chk: _Checker, zap: Zap, step: Step, path: str,
              earlier: list[str]) -> Iterator[CompiledBranch]:
    if step.use != flow.PATHS or not step.branches:
        return
    names: set[str] = set()
    for index, branch in enumerate(step.branches):
        where = f"{path}.branches[{index}]"
        if branch.name in names:
            chk.error(f"{where}.name", f"duplicate branch name '{branch.name}'")
        names.add(branch.name)
        chk.current = step.id
        when = None
        if branch.when is not None:
            when = _condition(chk, f"{where}.when", branch.when, earlier, chk.ids)
        steps = _sequence(chk, zap, branch.steps, f"{where}.steps", earlier, "branch")
        yield CompiledBranch(branch.name, when, tuple(steps))


def _children(chk: _Checker, zap: Zap, step: Step, path: str,
              earlier: list[str]) -> list[CompiledStep]:
    if step.use != flow.LOOP or not step.steps:
        return []
    for index, sub in enumerate(step.steps):
        if len(flow.loop_key(step.id, flow.MAX_INDEX, sub.id)) > flow.KEY_LENGTH:
            chk.error(f"{path}.steps[{index}].id", f"ids '{step.id}' and '{sub.id}' together "
                      f"are too long for a loop step (at most {flow.KEY_LENGTH - 7} characters)")
        chk.inside[sub.id] = step.id
    roots, chk.roots = chk.roots, (*chk.roots, "loop")
    try:
        return _sequence(chk, zap, step.steps, f"{path}.steps", earlier, "loop")
    finally:
        chk.roots = roots


def compile_zap(data: dict[str, Any] | Zap, registry: Registry) -> CompiledZap:
    """Validate ``data`` and compile it, or raise ``ZapInvalid`` listing every problem."""
    try:
        zap = data if isinstance(data, Zap) else Zap.model_validate(data)
    except ValidationError as exc:
        raise ZapInvalid(pydantic_errors(exc)) from None
    chk = _Checker(registry)
    chk.trigger(zap)
    ids = chk.ids = {s.id for s in flow.walk([*zap.steps, *zap.on_failure])}
    if len(ids) > flow.MAX_STEPS:
        chk.error("steps", f"a zap holds at most {flow.MAX_STEPS} steps, nested ones included")
    earlier: list[str] = []
    compiled = []
    for index, step in enumerate(zap.steps):
        compiled.append(_compile(chk, zap, step, f"steps[{index}]", earlier, "top"))
        earlier += [step.id, *flow.branch_step_ids(step)]
    chk.roots = (*ROOTS, "error")
    on_failure = _sequence(chk, zap, zap.on_failure, "on_failure", earlier, "on_failure")
    chk.roots, chk.current = ROOTS, None
    output = None
    if zap.output is not None:
        output = chk.template("output", zap.output, earlier, ids)
    if chk.errors:
        raise ZapInvalid(chk.errors)
    return CompiledZap(zap, tuple(c for c in compiled if c is not None), output,
                       tuple(on_failure))
