"""Validate a zap document against the registry and compile its expressions.

Every problem is reported with the path it was found at, e.g.
``steps[2].input.text: unknown step 'clasify'``; all problems are collected before failing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
from hub.zaps.model import RetryPolicy, Step, Zap


@dataclass(frozen=True)
class CompiledStep:
    step: Step
    action: type[sdk.Action]
    input: Template
    when: ParsedResult | None
    retry: RetryPolicy
    timeout: float
    notify: tuple[CompiledStep, ...] = ()  # actions telling the approvers (``approval.notify``)


@dataclass(frozen=True)
class CompiledZap:
    zap: Zap
    steps: tuple[CompiledStep, ...]
    output: Template | None


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

    def error(self, path: str, message: str) -> None:
        self.errors.append({"path": path, "message": message})

    def refs(self, path: str, expr: ParsedResult, earlier: list[str], all_ids: set[str]) -> None:
        for root, nxt in root_references(expr):
            if root not in ROOTS:
                self.error(path, f"unknown name '{root}' (expected one of: {', '.join(ROOTS)})")
            elif root == "steps" and nxt is not None and nxt == self.current:
                self.error(path, f"step '{nxt}' cannot read its own output")
            elif root == "steps" and nxt is not None and nxt not in earlier:
                later = " (it runs after this point)" if nxt in all_ids else ""
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


def _step(chk: _Checker, zap: Zap, index: int, earlier: list[str], ids: set[str]):
    step = zap.steps[index]
    path = f"steps[{index}]"
    chk.current = step.id
    if step.id in earlier:
        chk.error(f"{path}.id", f"duplicate step id '{step.id}'")
    action = chk.action(path, step)
    if action is not None:
        chk.inputs(path, step, action.Input)
    tpl = chk.template(f"{path}.input", step.input, earlier, ids)
    when = None
    if step.when is not None:
        try:
            when = compile_condition(step.when)
            chk.refs(f"{path}.when", when, earlier, ids)
        except ExpressionError as exc:
            chk.error(f"{path}.when", str(exc))
    if action is None or tpl is None:
        return None
    retry = step.retry or zap.settings.default_retry
    timeout = step.timeout or zap.settings.default_timeout
    notify = _notify(chk, zap, index, earlier, ids)
    return CompiledStep(step, action, tpl, when, retry, timeout, notify)


def _notify(chk: _Checker, zap: Zap, index: int, earlier: list[str],
            ids: set[str]) -> tuple[CompiledStep, ...]:
    """The step's ``approval.notify`` actions, checked like steps (they run before it)."""
    step = zap.steps[index]
    out = []
    for n, item in enumerate(step.approval.notify if step.approval else []):
        path = f"steps[{index}].approval.notify[{n}]"
        sub = Step(id=f"{step.id}__notify_{n}", use=item.use, connection=item.connection,
                   input=item.input)
        action = chk.action(path, sub)
        if action is not None:
            chk.inputs(path, sub, action.Input)
        tpl = chk.template(f"{path}.input", sub.input, earlier, ids)
        if action is not None and tpl is not None:
            out.append(CompiledStep(sub, action, tpl, None, RetryPolicy(),
                                    zap.settings.default_timeout))
    return tuple(out)


def compile_zap(data: dict[str, Any] | Zap, registry: Registry) -> CompiledZap:
    """Validate ``data`` and compile it, or raise ``ZapInvalid`` listing every problem."""
    try:
        zap = data if isinstance(data, Zap) else Zap.model_validate(data)
    except ValidationError as exc:
        raise ZapInvalid(pydantic_errors(exc)) from None
    chk = _Checker(registry)
    chk.trigger(zap)
    ids = {s.id for s in zap.steps}
    earlier: list[str] = []
    compiled = []
    for index, step in enumerate(zap.steps):
        compiled.append(_step(chk, zap, index, earlier, ids))
        earlier.append(step.id)
    chk.current = None
    output = None
    if zap.output is not None:
        output = chk.template("output", zap.output, earlier, ids)
    if chk.errors:
        raise ZapInvalid(chk.errors)
    return CompiledZap(zap, tuple(c for c in compiled if c is not None), output)
