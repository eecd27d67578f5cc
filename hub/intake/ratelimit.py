"""Hook rate limits shared by every node on PostgreSQL: a token bucket in one row per hook.

Each request takes a token with ONE statement, in its own transaction (one round trip):

    INSERT ... ON CONFLICT (hook_id) DO UPDATE
      SET tokens = refill - 1 (if refill >= 1, else refill), passed = refill >= 1, stamp = now
      RETURNING passed, tokens

where ``refill = LEAST(burst, tokens + (now - stamp) * rate)`` and ``now`` is the server's
clock, so nodes with skewed clocks share one bucket exactly. The row lock serialises
concurrent requests for one hook (they queue for microseconds, not a round trip each), and
the limit holds for all nodes together: N nodes never pass N times the rate. The hook's
current ``rate_limit`` and ``burst`` travel with each request, so an edit applies at once.
"""

from __future__ import annotations

import sqlalchemy as sa

from hub.store.db import Database

TAKE = sa.text("""
WITH now AS (SELECT CAST(extract(epoch FROM clock_timestamp()) AS float8) AS t)
INSERT INTO hook_rate_limits AS b (hook_id, tokens, stamp, passed)
SELECT :hook_id, CAST(:burst AS float8) - 1, now.t, true FROM now
ON CONFLICT (hook_id) DO UPDATE SET
  tokens = CASE
    WHEN LEAST(:burst, b.tokens + GREATEST(EXCLUDED.stamp - b.stamp, 0) * :rate) >= 1
    THEN LEAST(:burst, b.tokens + GREATEST(EXCLUDED.stamp - b.stamp, 0) * :rate) - 1
    ELSE LEAST(:burst, b.tokens + GREATEST(EXCLUDED.stamp - b.stamp, 0) * :rate) END,
  passed = LEAST(:burst, b.tokens + GREATEST(EXCLUDED.stamp - b.stamp, 0) * :rate) >= 1,
  stamp = GREATEST(EXCLUDED.stamp, b.stamp)
RETURNING passed, tokens
""")


class SharedRateLimiter:
    """Token buckets of all hooks, in the database every node shares."""

    def __init__(self, db: Database) -> None:
        self.engine = db.writer.execution_options(isolation_level="AUTOCOMMIT")

    async def take(self, hook_id: str, rate: float, burst: int) -> float:
        """0 when the request may pass; else the seconds until it would."""
        async with self.engine.connect() as conn:
            row = (await conn.execute(TAKE, {"hook_id": hook_id, "rate": float(rate),
                                             "burst": float(burst)})).one()
        return 0.0 if row.passed else (1 - row.tokens) / rate
