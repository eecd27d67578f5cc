"""``ai.summarize`` and ``ai.similarity`` through the engine, on both backends: the local model
for real, OpenAI-compatible providers mocked at the HTTP layer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pytest_httpx import HTTPXMock
from test_ai_steps import OPENAI, chat_body, run_zap, sent, setup_models

from hub.ai import usage as aiusage
from hub.context import Hub
from hub.services import identity

FAQ = ["How do I reset my password?", "Where is my parcel?", "Can I get a refund for a "
       "double charge?", "What are your opening hours?"]


@pytest.fixture
def ws(owner: identity.Principal) -> str:
    return owner.workspace_id


def embeddings_body(vectors: list[list[float]]) -> dict[str, Any]:
    """An OpenAI embeddings response, as documented."""
    return {"object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": i, "embedding": v}
                     for i, v in enumerate(vectors)],
            "usage": {"prompt_tokens": 9, "total_tokens": 9}}


async def test_summarize(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=f"{OPENAI}/chat/completions",
                            json=chat_body("- late parcel\n- refund asked", 40, 9))
    step = {"id": "s", "use": "ai.summarize", "input": {
        "text": "{{ trigger.body }}", "style": "2 bullet points", "max_tokens": 80}}
    run = await run_zap(hub, ws, [step], {"body": "My parcel is two weeks late. Refund me."})
    assert run["status"] == "succeeded", run["error"]
    out = run["result"]
    assert out["text"] == "- late parcel\n- refund asked" and out["model"] == "cloud"
    assert out["usage"]["input_tokens"] == 40 and out["usage"]["output_tokens"] == 9
    assert out["usage"]["cost"] == pytest.approx((40 * 1.0 + 9 * 2.0) / 1000)
    [body] = sent(httpx_mock)
    assert body["max_tokens"] == 80
    assert body["messages"][0]["role"] == "system" and "2 bullet points" in \
        body["messages"][0]["content"]
    assert body["messages"][1] == {"role": "user",
                                   "content": "My parcel is two weeks late. Refund me."}


async def test_similarity_with_the_local_model(hub: Hub, ws: str) -> None:
    await setup_models(hub, ws)
    step = {"id": "m", "use": "ai.similarity", "input": {
        "model": "minilm", "text": "I was billed twice for one order", "candidates": FAQ}}
    run = await run_zap(hub, ws, [step])
    assert run["status"] == "succeeded", run["error"]
    out = run["result"]
    assert out["best"]["index"] == 2 and out["best"]["text"] == FAQ[2]
    scores = [r["score"] for r in out["ranked"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    assert all(-1.0 <= s <= 1.0 for s in scores) and scores[0] - scores[-1] > 0.2
    assert out["model"] == "minilm" and out["usage"]["cost"] == 0
    assert out["usage"]["input_tokens"] > 0
    calls = (await aiusage.summary(hub, workspace_id=ws, run_id=run["id"]))["total"]["calls"]
    assert calls == 1


async def test_similarity_filters_and_openai_embeddings(hub: Hub, ws: str,
                                                        httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=f"{OPENAI}/embeddings", json=embeddings_body(
        [[1.0, 0.0], [0.0, 1.0], [3.0, 0.1], [0.6, 0.8]]))
    step = {"id": "m", "use": "ai.similarity", "input": {
        "model": "cloud", "text": "q", "candidates": ["a", "b", "c"], "top_k": 2,
        "min_score": 0.1}}
    run = await run_zap(hub, ws, [step])
    assert run["status"] == "succeeded", run["error"]
    ranked = run["result"]["ranked"]
    assert [(r["index"], r["text"]) for r in ranked] == [(1, "b"), (2, "c")]
    assert ranked[0]["score"] == pytest.approx(3.0 / (3.0**2 + 0.01) ** 0.5, abs=1e-6)
    assert ranked[1]["score"] == pytest.approx(0.6, abs=1e-6)
    assert sent(httpx_mock)[0] == {"model": "gpt-4o-mini", "input": ["q", "a", "b", "c"]}


async def test_similarity_bad_provider_answer(hub: Hub, ws: str, httpx_mock: HTTPXMock) -> None:
    await setup_models(hub, ws)
    httpx_mock.add_response(url=f"{OPENAI}/embeddings", json=embeddings_body([[1.0, 0.0]]))
    step = {"id": "m", "use": "ai.similarity",
            "input": {"model": "cloud", "text": "q", "candidates": ["a"]}}
    run = await run_zap(hub, ws, [step])
    assert run["status"] == "failed" and run["error"]["code"] == "invalid_response"
    assert "1 vectors for 2 texts" in run["error"]["message"]


async def test_similarity_needs_an_embedding_model(hub: Hub, ws: str) -> None:
    from hub.ai import config as aiconf

    await setup_models(hub, ws)
    await aiconf.put_model(hub, workspace_id=ws, data={
        "name": "chatonly", "provider": "openai_compat", "capabilities": ["chat"],
        "config": {"model": "m", "base_url": OPENAI}})
    step = {"id": "m", "use": "ai.similarity",
            "input": {"model": "chatonly", "text": "q", "candidates": ["a"]}}
    run = await run_zap(hub, ws, [step])
    assert run["status"] == "failed" and run["error"]["code"] == "no_eligible_model"
    assert "lacks capability embeddings" in json.dumps(run["error"])
