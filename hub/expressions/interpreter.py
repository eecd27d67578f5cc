"""The bounded JMESPath interpreter: every node visit is counted against a ``Budget``, every
value an expression builds is measured, and costly functions check their inputs first."""

from __future__ import annotations

import math
from typing import Any

from jmespath import exceptions as jexc
from jmespath.functions import Functions, signature
from jmespath.parser import ParsedResult
from jmespath.visitor import Options, TreeInterpreter

from hub.expressions.budget import Budget
from hub.expressions.limits import ExpressionError

#: Functions that copy, compare or sort their whole input in one C-level call.
_COSTLY = frozenset({"to_string", "join", "sort", "sort_by", "reverse", "merge", "contains",
                     "max", "min", "sum", "avg"})
_EQUALITY = ("eq", "ne")


def _orderable(value: Any) -> bool:
    """Numbers (not booleans) and strings, as jmespath's own ordering comparisons allow."""
    return isinstance(value, str) or (isinstance(value, int | float)
                                      and not isinstance(value, bool))


class _Functions(Functions):
    """JMESPath's functions, with their inputs checked and every failure an ExpressionError."""

    def __init__(self, budget: Budget) -> None:
        self.budget = budget

    def call_function(self, function_name: str, resolved_args: list[Any]) -> Any:
        if function_name in _COSTLY:
            for arg in resolved_args:
                if isinstance(arg, list | dict | str):
                    self.budget.costly(arg, f"{function_name}()")
        if function_name == "join" and len(resolved_args) == 2:
            self._check_join(*resolved_args)
        try:
            result = super().call_function(function_name, resolved_args)
        except (ExpressionError, jexc.JMESPathError):
            raise
        except RecursionError:
            raise ExpressionError(f"{function_name}(): the value is nested too deeply") from None
        except Exception as exc:  # noqa: BLE001 - e.g. OverflowError from ceil(1e999)
            raise ExpressionError(f"{function_name}(): {type(exc).__name__}: {exc}") from None
        self.budget.size(result)
        return result

    def _check_join(self, separator: Any, items: Any) -> None:
        if isinstance(separator, str) and isinstance(items, list) and items:
            estimate = self.budget.size(items) + len(separator) * (len(items) - 1)
            self.budget.costly_size(estimate, "join()")

    @signature({"types": []})
    def _func_to_number(self, arg: Any) -> Any:
        value = super()._func_to_number(arg)
        return value if not isinstance(value, float) or math.isfinite(value) else None


class Interpreter(TreeInterpreter):
    """Reads fields of dicts only (jmespath would call ``.get(name)`` on any Python object),
    and spends a ``Budget`` on every visit."""

    def __init__(self, budget: Budget) -> None:
        super().__init__(Options(custom_functions=_Functions(budget)))
        self.budget = budget

    def visit(self, node: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        budget = self.budget
        budget.visits += 1
        if budget.visits > budget.limits.visits or not budget.visits & 7:
            budget.tick()
        kind = node["type"]
        method = self._method_cache.get(kind)
        if method is None:
            method = self._method_cache[kind] = getattr(self, f"visit_{kind}",
                                                        self.default_visit)
        return method(node, *args, **kwargs)

    def visit_field(self, node: dict[str, Any], value: Any) -> Any:
        return value.get(node["value"]) if isinstance(value, dict) else None

    def visit_comparator(self, node: dict[str, Any], value: Any) -> Any:
        left = self.visit(node["children"][0], value)
        right = self.visit(node["children"][1], value)
        op = node["value"]
        if op in _EQUALITY:
            for side in (left, right):
                if isinstance(side, list | dict):
                    self.budget.costly(side, "a comparison")
            return self.COMPARATOR_FUNC[op](left, right)
        if not (_orderable(left) and _orderable(right)):
            return None
        return self.COMPARATOR_FUNC[op](left, right)

    # Nodes that build new values: the result is measured (linear thanks to the memo).

    def visit_multi_select_list(self, node: dict[str, Any], value: Any) -> Any:
        return self._built(super().visit_multi_select_list(node, value))

    def visit_multi_select_dict(self, node: dict[str, Any], value: Any) -> Any:
        return self._built(super().visit_multi_select_dict(node, value))

    def visit_projection(self, node: dict[str, Any], value: Any) -> Any:
        return self._built(super().visit_projection(node, value))

    def visit_value_projection(self, node: dict[str, Any], value: Any) -> Any:
        return self._built(super().visit_value_projection(node, value))

    def visit_filter_projection(self, node: dict[str, Any], value: Any) -> Any:
        return self._built(super().visit_filter_projection(node, value))

    def visit_flatten(self, node: dict[str, Any], value: Any) -> Any:
        return self._built(super().visit_flatten(node, value))

    def _built(self, result: Any) -> Any:
        if result is not None:
            self.budget.size(result)
        return result


def search(expr: ParsedResult, data: Any, budget: Budget) -> Any:
    """Evaluate ``expr`` over ``data`` within ``budget``; every failure is an ExpressionError."""
    try:
        return Interpreter(budget).visit(expr.parsed, data)
    except ExpressionError:
        raise
    except RecursionError:
        raise ExpressionError(f"cannot evaluate '{expr.expression[:80]}': nested too deeply")\
            from None
    except Exception as exc:  # noqa: BLE001 - jmespath raises bare TypeErrors and more
        # jmespath 1.x raises a bare TypeError for e.g. "x" > 1 (strings are orderable there)
        raise ExpressionError(f"cannot evaluate '{expr.expression}': {exc}") from None
