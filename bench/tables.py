"""Data tables on the embedded SQLite database, rows sealed: what a query costs.

Imports N rows (CSV, one transaction), then times: a lookup by key, an equality filter on an
indexed column (blind index), a filter on a plain column (a bounded scan), ordering on a
column, an upsert, and a full CSV export. Prints the median of R repetitions in milliseconds.

    python bench/tables.py [--rows 5000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hub.context import Hub
from hub.services import identity
from hub.settings import Settings
from hub.tables import catalog, csvio, query, rows
from hub.tables.access import store_for
from hub.testing.people import owner_token

R = query.Read
SPEC = {"name": "customers", "key": "email", "columns": [
    {"name": "email", "type": "text"}, {"name": "plan", "type": "text", "indexed": True},
    {"name": "seats", "type": "integer"}, {"name": "since", "type": "datetime"},
    {"name": "notes", "type": "text"}]}


def csv_file(n: int) -> bytes:
    lines = ["email,plan,seats,since,notes"]
    lines += [f"user{i}@example.com,{('free', 'pro', 'team', 'enterprise')[i % 4]},{i % 50},"
              f"2024-{i % 12 + 1:02d}-01T10:00:00Z,{'note ' * 20}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


async def timed(label: str, repeat: int, fn: Callable[[], Awaitable[Any]]) -> None:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = await fn()
        times.append((time.perf_counter() - start) * 1000)
    size = f"({len(out)})" if isinstance(out, list | str) else ""
    print(f"{label:<44} {statistics.median(times):9.2f} ms   {size}")


async def main(n: int, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        hub = await Hub.open(Settings(data_dir=Path(tmp), log_level="WARNING"))
        try:
            ws = (await identity.authenticate(hub, await owner_token(hub))).workspace_id
            st = store_for(hub)
            await catalog.create_table(st, workspace_id=ws, spec=SPEC)
            args = {"workspace_id": ws, "name": "customers"}
            start = time.perf_counter()
            await csvio.import_csv(st, **args, data=csv_file(n))
            print(f"{'import ' + str(n) + ' rows (CSV)':<44} "
                  f"{(time.perf_counter() - start) * 1000:9.2f} ms")
            reads = {
                "find by key": R(where={"email": f"user{n // 2}@example.com"}),
                "find plan = pro (indexed), limit 100": R(where={"plan": "pro"}),
                "find seats >= 48 (scan), limit 100": R(where={"seats": {"gte": 48}}),
                "find plan = team ordered by seats, limit 10": R(
                    where={"plan": "team"}, order_by="seats", limit=10),
                "find seats = 7 (scan, no index), limit 10": R(where={"seats": 7}, limit=10),
            }
            for label, read in reads.items():
                await timed(label, repeat, lambda read=read: query.find(st, **args, read=read))
            await timed("upsert by key", repeat, lambda: rows.upsert(
                st, **args, values={"email": "user1@example.com", "seats": 7}))

            async def export() -> str:
                return "".join([c async for c in await csvio.export_csv(st, **args)])

            await timed("export CSV", repeat, export)
        finally:
            await hub.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=5)
    opts = parser.parse_args()
    asyncio.run(main(opts.rows, opts.repeat))
