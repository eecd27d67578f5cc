"""The chain check itself, over plain row tuples (fast: no JSON parsing).

A record's body is canonical JSON whose keys come in sorted order: ``action, actor, at, data,
run_id, seq, target``. Everything but ``data`` is also stored in columns (for filtering), so
the check rebuilds the text before and after ``data`` from the columns and compares: a column
edited without its body, or a body edited without its hash, breaks the check either way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import Any

#: column order of the rows given to ``check_rows``
COLUMNS = ("seq", "at", "action", "actor_type", "actor_id", "actor_token", "target_type",
           "target_id", "run_id", "body", "prev_hash", "hash")


_QUOTED: dict[str | None, str] = {None: "null"}


def _js(value: str | None) -> str:
    """JSON text of a string or ``None``; actions, actors and types repeat, so memoised."""
    found = _QUOTED.get(value)
    if found is None:
        if len(_QUOTED) > 4096:
            _QUOTED.clear()
            _QUOTED[None] = "null"
        found = _QUOTED[value] = encode_basestring(value)
    return found


def _frame(row: tuple[Any, ...]) -> tuple[str, str]:
    """The canonical text before and after the ``data`` value, rebuilt from the columns."""
    seq, at, action, a_type, a_id, a_tok, t_type, t_id, run_id = row[:9]
    token = f',"token_id":{_js(a_tok)}' if a_tok else ""
    head = (f'{{"action":{_js(action)},"actor":{{"id":{_js(a_id)}{token},"type":{_js(a_type)}}},'
            f'"at":{float(at)!r},"data":')
    tail = (f',"run_id":{_js(run_id)},"seq":{seq},'
            f'"target":{{"id":{_js(t_id)},"type":{_js(t_type)}}}}}')
    return head, tail


def problem(row: tuple[Any, ...], seq: int, prev: str) -> str | None:
    """Why ``row`` breaks the chain after record ``seq`` with hash ``prev``, or ``None``."""
    if row[0] != seq + 1:
        return f"record {seq + 1} is missing (found {row[0]} next)"
    body, prev_hash, digest = row[9], row[10], row[11]
    if prev_hash != prev:
        return "its prev_hash is not the previous record's hash (reordered or inserted)"
    if hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest() != digest:
        return "its content does not match its hash (edited)"
    head, tail = _frame(row)
    if not (body.startswith(head) and body.endswith(tail)):
        return "its columns differ from its hashed content (edited)"
    return None


def check_rows(rows: Iterable[tuple[Any, ...]], seq: int,
               prev: str) -> tuple[int, str, int, str | None]:
    """Check ``rows`` (in seq order) after record ``seq``/``prev``.

    Returns ``(last good seq, its hash, records checked, problem or None)``.
    """
    checked = 0
    for row in rows:
        reason = problem(row, seq, prev)
        if reason is not None:
            return seq, prev, checked, reason
        seq, prev, checked = row[0], row[11], checked + 1
    return seq, prev, checked, None
