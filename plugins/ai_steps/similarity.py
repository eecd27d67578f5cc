"""``ai.similarity``: rank candidate texts by cosine similarity of their embeddings to a text.

Works with any model that has the ``embeddings`` capability: the offline ``local`` model
(all-MiniLM-L6-v2) or an OpenAI-compatible ``/embeddings`` endpoint.
"""

from __future__ import annotations

import math
from typing import Any

from hub_plugins.ai_steps.steps import _Common, _Meta, _meta
from pydantic import BaseModel, Field

from hub import AIAction, ModelRequest, StepContext, StepError


class SimilarityInput(_Common):
    text: str = Field(title="Text", description="What the candidates are compared with.",
                      json_schema_extra={"format": "multiline"})
    candidates: list[str] = Field(min_length=1, max_length=256, title="Candidates",
                                  description="Texts to rank, e.g. FAQ questions.")
    top_k: int | None = Field(None, ge=1, le=256, title="Keep the best",
                              description="Return only this many; all when empty.")
    min_score: float | None = Field(None, ge=-1, le=1, title="Minimum score",
                                    description="Drop candidates below this cosine score.")


class Ranked(BaseModel):
    index: int = Field(description="Position in the input list.")
    text: str
    score: float = Field(description="Cosine similarity, -1 to 1.")


class SimilarityOutput(_Meta):
    ranked: list[Ranked]
    best: Ranked | None = None


def cosine(a: list[float], b: list[float]) -> float:
    """Cosine similarity of two vectors (0 when either is all zeros)."""
    if len(a) != len(b):
        raise StepError("the model returned vectors of different lengths",
                        code="invalid_response", retryable=True)
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return sum(x * y for x, y in zip(a, b, strict=True)) / norm if norm else 0.0


class Similarity(AIAction):
    key = "similarity"
    title = "Rank by similarity"
    description = "Orders candidate texts by how close their meaning is to the text."
    Input = SimilarityInput
    Output = SimilarityOutput

    async def run(self, payload: SimilarityInput, ctx: StepContext) -> dict[str, Any]:
        if ctx.ai is None:
            raise StepError("AI steps run only inside the engine", code="no_ai_gateway",
                            retryable=False)
        req = ModelRequest(task="embed", texts=[payload.text, *payload.candidates])
        res = await ctx.ai.call(req, policy=payload.policy, model=payload.model)
        vectors = res.vectors or []
        if len(vectors) != len(req.texts):
            raise StepError(f"the model returned {len(vectors)} vectors for {len(req.texts)} "
                            "texts", code="invalid_response", retryable=True)
        query = vectors[0]
        ranked = sorted(({"index": i, "text": t, "score": round(cosine(query, v), 6)}
                         for i, (t, v) in enumerate(zip(payload.candidates, vectors[1:],
                                                        strict=True))),
                        key=lambda r: (-r["score"], r["index"]))
        if payload.min_score is not None:
            ranked = [r for r in ranked if r["score"] >= payload.min_score]
        if payload.top_k is not None:
            ranked = ranked[:payload.top_k]
        return {"ranked": ranked, "best": ranked[0] if ranked else None, **_meta([res])}
