"""Mask a workspace's connection secrets in run data shown to people.

A secret can reach a run through its input (a token in a webhook body, a value a step copies
from one place to another), where the engine's per-step masking cannot know it. So every view
of run data (detail, list, CLI, sync webhook answers) masks the secret values of every
connection of the run's workspace.

The values are loaded once per workspace and cached: the process that changes a connection
drops its cache at once (``forget``), other processes reload within ``REFRESH`` seconds.
Masking is one pass of one Aho-Corasick automaton over each string, whatever the number of
secrets.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import ahocorasick_rs

from hub import redaction

REFRESH = 30.0  # seconds another process's connection change may take to apply here
MASK = redaction.MASK

Loader = Callable[[str], Awaitable[Iterable[str]]]


@dataclass
class Masker:
    """Replaces a fixed set of secret values inside JSON-like data.

    One Aho-Corasick automaton (leftmost-longest: a secret that contains another is masked
    whole) finds every value in one pass over each string, so the cost does not grow with
    the number of secrets (a compiled regex alternation does, badly, past a few dozen).
    """

    automaton: ahocorasick_rs.AhoCorasick | None
    loaded: float = field(default_factory=time.monotonic)

    @classmethod
    def of(cls, values: Iterable[str]) -> Masker:
        unique = sorted({v for v in values if isinstance(v, str) and v})
        if not unique:
            return cls(None)
        return cls(ahocorasick_rs.AhoCorasick(
            unique, matchkind=ahocorasick_rs.MatchKind.LeftmostLongest))

    def text(self, text: str) -> str:
        found = self.automaton.find_matches_as_indexes(text) if self.automaton else None
        if not found:
            return text
        parts, pos = [], 0
        for _, start, end in found:
            parts += (text[pos:start], MASK)
            pos = end
        parts.append(text[pos:])
        return "".join(parts)

    def mask(self, data: Any) -> Any:
        """A copy of ``data`` with every secret value masked in its strings (keys too)."""
        if self.automaton is None:
            return data
        return self._walk(data)

    def _walk(self, data: Any) -> Any:
        if isinstance(data, str):
            return self.text(data)
        if isinstance(data, dict):
            return {self._walk(k): self._walk(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self._walk(v) for v in data]
        return data


class SecretMasks:
    """Per-process cache of each workspace's ``Masker``; one load per workspace at a time."""

    def __init__(self, load: Loader, refresh: float = REFRESH) -> None:
        self._load = load
        self.refresh = refresh
        self._cache: dict[str, Masker] = {}
        self._loading: dict[str, asyncio.Task[Masker]] = {}
        self._generation = 0

    async def get(self, workspace_id: str) -> Masker:
        found = self._cache.get(workspace_id)
        if found is not None and time.monotonic() - found.loaded < self.refresh:
            return found
        task = self._loading.get(workspace_id)
        if task is None:
            task = asyncio.create_task(self._build(workspace_id, self._generation))
            self._loading[workspace_id] = task
            task.add_done_callback(lambda t: self._done(workspace_id, t))
        return await asyncio.shield(task)

    async def _build(self, workspace_id: str, generation: int) -> Masker:
        values = list(await self._load(workspace_id))
        redaction.register(*values)  # the logging filter masks them in this process too
        masker = Masker.of(values)
        if generation == self._generation:  # not dropped by ``forget`` meanwhile
            self._cache[workspace_id] = masker
        return masker

    def _done(self, workspace_id: str, task: asyncio.Task[Masker]) -> None:
        if self._loading.get(workspace_id) is task:
            del self._loading[workspace_id]
        if not task.cancelled():
            task.exception()  # retrieved even if every waiter was cancelled

    def forget(self, workspace_id: str) -> None:
        """A connection of the workspace changed: load its values again on next use."""
        self._generation += 1
        self._cache.pop(workspace_id, None)
        self._loading.pop(workspace_id, None)


_BY_OWNER: weakref.WeakKeyDictionary[Any, SecretMasks] = weakref.WeakKeyDictionary()


def masks_of(owner: Any, load: Loader) -> SecretMasks:
    """The cache belonging to ``owner`` (one per running hub), created on first use."""
    found = _BY_OWNER.get(owner)
    if found is None:
        found = _BY_OWNER[owner] = SecretMasks(load)
    return found


def forget(owner: Any, workspace_id: str) -> None:
    """Drop ``owner``'s cached secrets of one workspace (after a connection changed)."""
    found = _BY_OWNER.get(owner)
    if found is not None:
        found.forget(workspace_id)
