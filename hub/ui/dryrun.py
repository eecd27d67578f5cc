"""Test a step without running it: the zap as drafted is compiled, and the step's condition
and input are evaluated over sample data (a trigger event and earlier steps' outputs). The
action is not called, so nothing leaves the hub; running the zap on the sample for real is a
separate, confirmed button."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from hub.errors import HubError
from hub.expressions import ExpressionError, evaluate_condition
from hub.registry import Registry
from hub.zaps import compile_zap

MAX_SAMPLE = 262_144


def sample_of(run: dict[str, Any] | None) -> dict[str, Any]:
    """The sample data of a run: its trigger and its succeeded steps' outputs."""
    if run is None:
        return {"trigger": {}, "steps": {}}
    return {"trigger": run.get("trigger"),
            "steps": {s["step_id"]: s["output"] for s in run.get("steps", [])
                      if s["status"] == "succeeded"}}


def parse_sample(text: str) -> dict[str, Any]:
    """The sample typed into the builder: ``{"trigger": ..., "steps": {...}}`` as JSON."""
    if len(text) > MAX_SAMPLE:
        raise HubError("the sample is larger than 256 KiB", code="sample_too_large")
    try:
        data = json.loads(text or "{}")
    except (ValueError, RecursionError):
        raise HubError("the sample is not valid JSON", code="invalid_sample") from None
    if not isinstance(data, dict) or not isinstance(data.get("steps", {}), dict):
        raise HubError('the sample is {"trigger": ..., "steps": {"<id>": ...}}',
                       code="invalid_sample")
    return {"trigger": data.get("trigger"), "steps": data.get("steps", {})}


def test_step(doc: dict[str, Any], index: int, sample: dict[str, Any],
              registry: Registry) -> dict[str, Any]:
    """What step ``index`` would do on ``sample``: whether it runs, its rendered input, and
    the first problem (``ZapInvalid`` when the draft itself does not validate)."""
    compiled = compile_zap(doc, registry)
    cs = compiled.steps[index]
    ctx = {"trigger": sample.get("trigger"), "steps": dict(sample.get("steps") or {}),
           "vars": compiled.zap.vars}
    out: dict[str, Any] = {"runs": True, "input": None, "error": None}
    try:
        if cs.when is not None:
            out["runs"] = evaluate_condition(cs.when, ctx)
        out["input"] = cs.input.render(ctx)
        cs.action.Input.model_validate(out["input"])
    except ExpressionError as exc:
        out["error"] = {"code": exc.code, "message": str(exc)}
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "input"
        out["error"] = {"code": "invalid_input", "message": f"{where}: {first['msg']}"}
    return out
