"""Which schema a database has, compared with the migrations this version of the hub ships.

The migration files are read as text (their ``revision``, ``down_revision`` and
``depends_on`` lines), not imported, and the database's ``alembic_version`` rows are read
with one query: a start on an up-to-date database never loads Alembic. A database that has a
revision this hub does not know was upgraded by a newer hub; this one refuses to run against it
(``schema_too_new``) rather than write rows the newer schema does not expect.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.errors import HubError

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_LINE = re.compile(r"^(revision|down_revision|depends_on)\s*(?::[^=]*)?=\s*(.+)$", re.M)


class SchemaTooNew(HubError):
    """The database was upgraded by a newer version of the hub."""

    code = "schema_too_new"
    status = 503


@dataclass(frozen=True)
class Revision:
    id: str
    parents: tuple[str, ...]  # down revisions and dependencies: applied before this one


def _ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)  # type: ignore[arg-type]


@lru_cache(maxsize=1)
def known() -> dict[str, Revision]:
    """Every migration this hub ships, by id."""
    out: dict[str, Revision] = {}
    for path in sorted(VERSIONS.glob("*.py")):
        fields = {m.group(1): ast.literal_eval(m.group(2).strip())
                  for m in _LINE.finditer(path.read_text())}
        rid = fields.get("revision")
        if not isinstance(rid, str):
            continue  # not a migration (a package marker)
        out[rid] = Revision(rid, _ids(fields.get("down_revision")) + _ids(
            fields.get("depends_on")))
    return out


def applied(current: set[str], revisions: dict[str, Revision]) -> set[str]:
    """The revisions the version rows ``current`` imply (themselves and their ancestors)."""
    seen: set[str] = set()
    todo = [r for r in current if r in revisions]
    while todo:
        rid = todo.pop()
        if rid not in seen:
            seen.add(rid)
            todo.extend(revisions[rid].parents)
    return seen


@dataclass(frozen=True)
class SchemaState:
    current: frozenset[str]  # the database's version rows
    unknown: frozenset[str]  # rows this hub has no migration for (a newer hub wrote them)
    pending: frozenset[str]  # migrations this hub ships that the database lacks

    @property
    def up_to_date(self) -> bool:
        return not self.unknown and not self.pending

    def refuse_if_too_new(self) -> None:
        if self.unknown:
            raise SchemaTooNew(
                "the database schema is newer than this hub knows (revision "
                f"{', '.join(sorted(self.unknown))}): upgrade the hub on this node")


async def version_rows(conn: AsyncConnection) -> set[str]:
    """The ``alembic_version`` rows, or none on a new database."""
    has_table = await conn.run_sync(
        lambda sync: sa.inspect(sync).has_table("alembic_version"))
    if not has_table:
        return set()
    rows = await conn.execute(sa.text("SELECT version_num FROM alembic_version"))
    return {r[0] for r in rows}


async def schema_state(conn: AsyncConnection) -> SchemaState:
    revisions = known()
    current = await version_rows(conn)
    return SchemaState(frozenset(current), frozenset(current - set(revisions)),
                       frozenset(set(revisions) - applied(current, revisions)))
