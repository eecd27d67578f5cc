"""The errors expressions raise and the limits every compilation and evaluation is held to.

Evaluation runs synchronously wherever a value is needed (a step's input, a condition, a
webhook's dedupe key), so a single expression must never be able to stall the process or
exhaust its memory: ``[@, @]`` doubles a value without copying it, and twenty doublings turn a
small input into a result of megabytes once serialised. The limits below are checked statically
when an expression is compiled (a zap is refused at save) and again while it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Characters in one expression (the text between ``{{`` and ``}}``, or a condition).
MAX_EXPRESSION_CHARS = 4_000
#: Nodes in one expression's syntax tree, and how deeply they nest.
MAX_AST_NODES = 1_000
MAX_AST_DEPTH = 64
#: Upper bound on how many times an expression can multiply the size of the data it reads
#: (``[@, @]`` doubles it, a pipe or projection multiplies the factors of its two sides).
MAX_GROWTH = 1_024
#: Characters in one template string that holds ``{{ }}``, and expressions in one string.
MAX_TEMPLATE_CHARS = 65_536
MAX_TEMPLATE_EXPRESSIONS = 256



@dataclass(frozen=True)
class Limits:
    """What one evaluation may spend (a template renders as one evaluation)."""

    #: size of any intermediate or final value, measured as its compact JSON serialisation
    #: (shared references counted every time they would be written out)
    value_bytes: int = 16 * 1024 * 1024
    #: nesting depth of any value an expression builds
    value_depth: int = 128
    #: serialised size of what an operation that copies, compares or sorts its input in one
    #: go may take (``to_string``, ``join``, ``sort``, ``==`` on objects, text templates ...)
    costly_bytes: int = 1024 * 1024
    #: syntax-tree nodes visited (a projection visits its right side once per element)
    visits: int = 100_000
    #: CPU seconds of interpreter work (the evaluating thread's, so time the process spends
    #: preempted on a busy machine does not count): rendering runs on the event loop, so
    #: this bounds how long one misbehaving step can hold up everything else in the process
    seconds: float = 0.05


#: Step inputs, conditions and a zap's output.
DEFAULT = Limits()
#: A webhook's dedupe key, computed for every delivery before it is stored: keys are small.
DEDUPE = Limits(value_bytes=4 * 1024 * 1024, costly_bytes=1024 * 1024, visits=10_000,
                seconds=0.01)


class ExpressionError(ValueError):
    """An expression does not parse or does not evaluate. ``code`` is its stable error code."""

    code = "expression_error"


class ExpressionLimit(ExpressionError):
    """An expression exceeded one of the limits above (at compile or evaluation time)."""

    code = "expression_limit"
