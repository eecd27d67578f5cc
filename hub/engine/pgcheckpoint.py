"""A batch of step checkpoints on PostgreSQL in ONE statement: one round trip, its own
transaction (autocommit).

Same effect as ``Checkpointer._write``: lock the runs whose lease this worker still holds in
the op's generation (the fence), insert their step rows, apply their run updates, and answer
which runs were held. The batch travels as arrays (``unnest``). A run update may set only the
columns in ``RUN_COLUMNS`` (each op says which, as a bit mask); a batch with another column,
or two ops of one run, takes the general path.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

#: Run columns a checkpoint may set here, with their SQL array types (bit i: column i).
RUN_COLUMNS = {"status": "text", "due_at": "float8", "lease_owner": "text",
               "stalled_claims": "int", "finished_at": "float8", "result": "bytea",
               "error": "jsonb"}
STEP_COLUMNS = {"run_id": "text", "seq": "int", "workspace_id": "text", "step_id": "text",
                "step_index": "int", "round": "int", "attempt": "int", "status": "text",
                "input": "bytea", "output": "bytea", "error": "jsonb", "started_at": "float8",
                "finished_at": "float8", "idempotency_key": "text"}


def _arrays(prefix: str, columns: dict[str, str]) -> str:
    def one(name: str, kind: str) -> str:
        if kind == "jsonb":  # sent as text: asyncpg has no codec for jsonb[] parameters
            return f"CAST(CAST(:{prefix}{name} AS text[]) AS jsonb[])"
        return f"CAST(:{prefix}{name} AS {kind}[])"
    return ", ".join(one(name, kind) for name, kind in columns.items())


def _sets() -> str:
    return ",\n    ".join(
        f"{name} = CASE WHEN u.mask & {1 << i} <> 0 THEN u.{name} ELSE r.{name} END"
        for i, name in enumerate(RUN_COLUMNS))


STEP_NAMES = ", ".join(STEP_COLUMNS)
BATCH = sa.text(f"""
WITH held AS (
  SELECT r.id FROM runs r
  JOIN unnest(CAST(:op_id AS text[]), CAST(:op_gen AS int[])) AS o(id, gen)
    ON r.id = o.id AND r.claims = o.gen
  WHERE r.status = 'running' AND r.lease_owner = :owner
  FOR UPDATE OF r
), steps AS (
  INSERT INTO run_steps ({STEP_NAMES})
  SELECT {STEP_NAMES} FROM unnest({_arrays("s_", STEP_COLUMNS)}) AS s({STEP_NAMES})
  WHERE s.run_id IN (SELECT id FROM held)
), updated AS (
  UPDATE runs r SET
    {_sets()}
  FROM unnest(CAST(:u_id AS text[]), CAST(:u_mask AS int[]), {_arrays("u_", RUN_COLUMNS)})
    AS u(id, mask, {", ".join(RUN_COLUMNS)})
  WHERE r.id = u.id AND r.id IN (SELECT id FROM held)
)
SELECT id FROM held
""")


def fits(ops: list[Any]) -> bool:
    """Whether this statement can write the batch ``ops``: not when one of them carries extra
    writes (such as waking a waiting parent run) or audit records (those share its
    transaction)."""
    return len({op.run_id for op in ops}) == len(ops) and all(
        (op.run_update is None or set(op.run_update) <= RUN_COLUMNS.keys())
        and not op.writes and not op.audit for op in ops)


def _json(value: Any) -> str:
    return json.dumps(value)  # None too: SQLAlchemy's JSON type stores it as JSON null


def params(ops: list[Any], owner: str) -> dict[str, Any]:
    """The statement's parameters for ``ops`` (``_Op`` of ``hub.engine.checkpoint``)."""
    out: dict[str, Any] = {"owner": owner, "op_id": [op.run_id for op in ops],
                           "op_gen": [op.generation for op in ops]}
    rows = [row for op in ops for row in op.steps]
    for name, kind in STEP_COLUMNS.items():
        values = [row[name] for row in rows]
        out["s_" + name] = [_json(v) for v in values] if kind == "jsonb" else values
    updates = [op for op in ops if op.run_update]
    out["u_id"] = [op.run_id for op in updates]
    out["u_mask"] = [sum(1 << i for i, name in enumerate(RUN_COLUMNS) if name in op.run_update)
                     for op in updates]
    for name, kind in RUN_COLUMNS.items():
        values = [op.run_update.get(name) for op in updates]
        out["u_" + name] = [_json(v) for v in values] if kind == "jsonb" else values
    return out
