"""The AI step actions."""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub import AIAction, Message, ModelRequest, ModelResult, StepContext, StepError


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid")

    policy: str | None = Field(None, title="Routing policy",
                               description="A workspace policy; default: 'default'.")
    model: str | None = Field(None, title="Model",
                              description="A model entry, when the workspace allows it.")
    max_tokens: int = Field(512, ge=1, le=100_000, title="Maximum output tokens")
    temperature: float | None = Field(None, ge=0, le=2, title="Temperature")


class _Meta(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str = Field(description="The model entry that answered.")
    decision: str = Field(description="The routing decision, fallbacks included.")
    usage: dict[str, Any] = Field(description="Tokens, cost, latency, provider request id.")


def _meta(results: list[ModelResult]) -> dict[str, Any]:
    last = results[-1]
    usage = {"input_tokens": sum(r.usage.input_tokens for r in results),
             "output_tokens": sum(r.usage.output_tokens for r in results),
             "cost": round(sum(r.usage.cost for r in results), 8),
             "latency_ms": round(sum(r.usage.latency_ms for r in results), 3),
             "request_id": last.usage.request_id, "calls": len(results)}
    return {"model": last.model, "decision": last.decision, "usage": usage}


async def _chat(ctx: StepContext, p: _Common, messages: list[Message],
                json_mode: bool = False) -> ModelResult:
    if ctx.ai is None:
        raise StepError("AI steps run only inside the engine", code="no_ai_gateway",
                        retryable=False)
    req = ModelRequest(messages=messages, json_mode=json_mode, max_tokens=p.max_tokens,
                       temperature=p.temperature)
    return await ctx.ai.call(req, policy=p.policy, model=p.model)


class GenerateInput(_Common):
    prompt: str = Field(title="Prompt", description="A template over the run context.",
                        json_schema_extra={"format": "multiline"})
    system: str | None = Field(None, title="System prompt")


class GenerateOutput(_Meta):
    text: str


class Generate(AIAction):
    key = "generate"
    title = "Generate text"
    Input = GenerateInput
    Output = GenerateOutput

    async def run(self, payload: GenerateInput, ctx: StepContext) -> dict[str, Any]:
        msgs = [Message(role="system", content=payload.system)] if payload.system else []
        res = await _chat(ctx, payload, [*msgs, Message(role="user", content=payload.prompt)])
        return {"text": res.text or "", **_meta([res])}


class SummarizeInput(_Common):
    text: str = Field(title="Text", json_schema_extra={"format": "multiline"})
    style: str = Field("a short paragraph", title="Style", description="e.g. 3 bullet points")


class Summarize(AIAction):
    key = "summarize"
    title = "Summarise text"
    Input = SummarizeInput
    Output = GenerateOutput

    async def run(self, payload: SummarizeInput, ctx: StepContext) -> dict[str, Any]:
        msgs = [Message(role="system", content=f"Summarise the user's text as {payload.style}. "
                        "Answer with the summary only."),
                Message(role="user", content=payload.text)]
        res = await _chat(ctx, payload, msgs)
        return {"text": res.text or "", **_meta([res])}


class ExtractInput(_Common):
    text: str = Field(title="Text", json_schema_extra={"format": "multiline"})
    json_schema: dict[str, Any] | None = Field(None, title="JSON Schema of the result")
    fields: list[str] | None = Field(None, title="Fields", description="Instead of a schema.")
    retries: int = Field(2, ge=0, le=5, title="Retries on invalid output")


class ExtractOutput(_Meta):
    data: dict[str, Any]


class Extract(AIAction):
    key = "extract"
    title = "Extract structured data"
    Input = ExtractInput
    Output = ExtractOutput

    async def run(self, payload: ExtractInput, ctx: StepContext) -> dict[str, Any]:
        import jsonschema

        schema = _schema(payload)
        msgs = [Message(role="system", content="Extract data from the user's text. Answer with "
                        "one JSON object matching this JSON Schema, nothing else:\n"
                        + json.dumps(schema)),
                Message(role="user", content=payload.text)]
        results: list[ModelResult] = []
        problem = ""
        for _ in range(payload.retries + 1):
            res = await _chat(ctx, payload, msgs, json_mode=True)
            results.append(res)
            try:
                data = json.loads(_strip_fence(res.text or ""))
                jsonschema.validate(data, schema)
                if not isinstance(data, dict):
                    raise ValueError("the answer is not a JSON object")
                return {"data": data, **_meta(results)}
            except (ValueError, jsonschema.ValidationError) as exc:
                problem = getattr(exc, "message", None) or str(exc)[:300]
            msgs += [Message(role="assistant", content=res.text or ""),
                     Message(role="user", content=f"That is not valid: {problem}. Answer "
                             "with the corrected JSON object only.")]
        raise StepError(f"the model gave no valid JSON after {len(results)} tries: {problem}",
                        code="invalid_model_output", retryable=True,
                        extra={"attempts": len(results)})


def _schema(p: ExtractInput) -> dict[str, Any]:
    import jsonschema

    if p.json_schema is not None:
        try:
            jsonschema.Draft202012Validator.check_schema(p.json_schema)
        except jsonschema.SchemaError as exc:
            raise StepError(f"json_schema is not a valid JSON Schema: {exc.message}",
                            code="invalid_input", retryable=False) from None
        return p.json_schema
    if not p.fields:
        raise StepError("give json_schema or fields", code="invalid_input", retryable=False)
    return {"type": "object", "properties": {f: {"type": ["string", "number", "boolean",
                                                          "null"]} for f in p.fields},
            "required": list(p.fields), "additionalProperties": False}


def _strip_fence(text: str) -> str:
    text = text.strip()
    if text.startswith("```"):
        text = text.split("\n", 1)[-1].rsplit("```", 1)[0]
    return text


class ClassifyInput(_Common):
    text: str = Field(title="Text", json_schema_extra={"format": "multiline"})
    labels: list[str] = Field(min_length=2, title="Labels",
                              description="Descriptive labels classify best.")


class ClassifyOutput(_Meta):
    label: str
    confidence: float
    scores: dict[str, float] | None = None


class Classify(AIAction):
    key = "classify"
    title = "Classify text"
    Input = ClassifyInput
    Output = ClassifyOutput

    async def run(self, payload: ClassifyInput, ctx: StepContext) -> dict[str, Any]:
        if ctx.ai is None:
            raise StepError("AI steps run only inside the engine", code="no_ai_gateway",
                            retryable=False)
        req = ModelRequest(task="classify", texts=[payload.text], labels=payload.labels,
                           max_tokens=min(payload.max_tokens, 64))
        res = await ctx.ai.call(req, policy=payload.policy, model=payload.model)
        if res.label is not None:
            return {"label": res.label, "confidence": (res.scores or {}).get(res.label, 0.0),
                    "scores": res.scores, **_meta([res])}
        answer = (res.text or "").strip().strip(".\"'").lower()
        match = next((lb for lb in payload.labels if lb.lower() == answer), None)
        if match is None:
            raise StepError("the model did not answer with one of the labels",
                            code="invalid_model_output", retryable=True)
        return {"label": match, "confidence": 1.0, "scores": None, **_meta([res])}
