"""Built-in ``ai`` steps: ``ai.generate``, ``ai.extract``, ``ai.classify``, ``ai.summarize``,
``ai.similarity``.

Each is a ``hub.AIAction``: the engine applies the workspace's guardrails to its input and
output, and ``ctx.ai`` (routing policy, budgets, accounting) is its only route to a model.
"""

from __future__ import annotations

from hub_plugins.ai_steps.similarity import Similarity
from hub_plugins.ai_steps.steps import Classify, Extract, Generate, Summarize

from hub import Connector, hookimpl


class AI(Connector):
    key = "ai"
    title = "AI"
    description = ("Generate, extract, classify, summarise and rank text by similarity with the "
                   "workspace's models.")
    actions = (Generate, Extract, Classify, Summarize, Similarity)


@hookimpl
def register_connectors(register) -> None:  # type: ignore[no-untyped-def]
    register(AI)
