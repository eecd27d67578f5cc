"""What one evaluation may spend: node visits, interpreter time and the size of its values.

Sizes are the length a value would have as compact JSON. Values built by an expression share
references (``[@, @]`` is a list holding the same object twice), so a size is computed once per
object and remembered by identity: the accounting is linear in the number of distinct objects
although the sizes it reports grow exponentially with each doubling.
"""

from __future__ import annotations

import math
import time
from typing import Any

from hub.expressions.limits import DEFAULT, ExpressionError, ExpressionLimit, Limits

#: CPU time of the calling thread: a budget of work done, so a process that the machine's
#: scheduler or other threads hold up does not fail expressions that did little.
_clock = time.thread_time

_CONTAINERS = (list, dict)


def _scalar(value: Any) -> int:
    kind = type(value)
    if kind is str:
        return len(value) + 2
    if kind is bool or value is None:
        return 5
    if kind is int:
        return value.bit_length() * 3 // 10 + 2
    if kind is float and not math.isfinite(value):
        raise ExpressionError("the result is not a finite number")
    return 24


def _items(obj: Any) -> Any:
    return obj.values() if type(obj) is dict else obj


class Budget:
    """One evaluation's allowance; ``label`` names the expression in error messages."""

    __slots__ = ("label", "limits", "visits", "deadline", "memo")

    def __init__(self, label: str = "", limits: Limits = DEFAULT) -> None:
        self.label = label
        self.limits = limits
        self.visits = 0
        self.deadline = _clock() + limits.seconds
        #: id(object) -> (size, depth, object); the object is kept so its id is not reused
        self.memo: dict[int, tuple[int, int, Any]] = {}

    def _limit(self, message: str) -> ExpressionLimit:
        where = f" in '{self.label[:80]}'" if self.label else ""
        return ExpressionLimit(f"expression limit{where}: {message}")

    def tick(self) -> None:
        """Raise once the visits (counted by the caller) or the time are used up."""
        if self.visits > self.limits.visits:
            raise self._limit(f"more than {self.limits.visits:,} evaluation steps")
        if _clock() > self.deadline:
            raise self._limit(f"evaluation took longer than {self.limits.seconds:g}s")

    def size(self, value: Any) -> int:
        """The serialised size of ``value``; raises past the size or depth limit."""
        kind = type(value)
        if kind is list or kind is dict:
            found = self.memo.get(id(value))
            if found is None:
                found = self._combine(value) or self._measure(value)
            return found[0]
        size = _scalar(value)
        if size > self.limits.value_bytes:
            raise self._limit(f"a value of about {size:,} bytes (limit "
                              f"{self.limits.value_bytes:,})")
        return size

    def costly(self, value: Any, what: str) -> None:
        """Refuse to hand ``value`` to an operation that copies, compares or sorts it at once."""
        self.costly_size(self.size(value), what)

    def costly_size(self, size: int, what: str) -> None:
        if size > self.limits.costly_bytes:
            raise self._limit(f"{what} over about {size:,} bytes (limit "
                              f"{self.limits.costly_bytes:,})")

    def _measure(self, root: Any) -> tuple[int, int, Any]:
        """Sizes of ``root`` and every container below it, without recursion.

        Time spent here does not count against the deadline: it is linear in data the
        evaluation was given or already paid visits for.
        """
        started = _clock()
        memo, entered = self.memo, set()
        stack = [root]
        while stack:
            obj = stack[-1]
            key = id(obj)
            if key in memo:
                stack.pop()
                continue
            pending = [c for c in _items(obj) if type(c) in _CONTAINERS and id(c) not in memo]
            if pending:
                if key in entered or any(id(c) in entered for c in pending):
                    raise ExpressionError("a value refers to itself")
                entered.add(key)
                stack.extend(pending)
                continue
            stack.pop()
            entered.discard(key)
            self._combine(obj)
        self.deadline += _clock() - started
        return memo[id(root)]

    def _combine(self, obj: Any) -> tuple[int, int, Any] | None:
        """Size and depth of ``obj`` from its children's, or ``None`` if one is not known."""
        memo = self.memo
        size, depth = 1 + (len(obj) or 1), 0
        if type(obj) is dict:
            size += sum(len(k) + 3 if type(k) is str else 24 for k in obj)
        for child in _items(obj):
            kind = type(child)
            if kind is str:
                size += len(child) + 2
            elif kind is list or kind is dict:
                found = memo.get(id(child))
                if found is None:
                    return None
                size += found[0]
                if found[1] > depth:
                    depth = found[1]
            else:
                size += _scalar(child)
        limits = self.limits
        if size > limits.value_bytes:
            raise self._limit(f"a value of more than {limits.value_bytes:,} bytes")
        if depth >= limits.value_depth:
            raise self._limit(f"a value nested deeper than {limits.value_depth} levels")
        found = memo[id(obj)] = (size, depth + 1, obj)
        return found
