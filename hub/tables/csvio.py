"""CSV import (all or nothing, size-bounded, errors name the row) and streamed CSV export.

Formula injection: a spreadsheet runs a cell starting with ``=``, ``+``, ``-``, ``@`` (or a
tab or carriage return) as a formula. Export therefore prefixes such text cells (also ones
already starting with quotes before such a character) with one ``'``, which spreadsheets show
as text; import removes exactly that one ``'``, so an export imports back unchanged. Number
cells are never prefixed (``-3`` is a number, not a formula).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from hub.tables import values as V
from hub.tables.backend import Indexer, Store, indexer
from hub.tables.catalog import load
from hub.tables.errors import CsvInvalid, DuplicateKey, RowInvalid, TableConflict, TableError
from hub.tables.rows import add_rows, merged, replace_row, row_values
from hub.tables.schema import Column, Table
from hub.tables.tables import datatable_rows

R = datatable_rows.c
BATCH = 500
_RISKY = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")


def escape(kind: str, text: str) -> str:
    """A cell safe to open in a spreadsheet (see the module docstring)."""
    if kind in ("number", "integer") or not _RISKY.match(text):
        return text
    return "'" + text


def unescape(text: str) -> str:
    return text[1:] if _ESCAPED.match(text) else text


@dataclass
class Parsed:
    """A CSV file checked against a table: rows' values by column id, with their row
    numbers (the header is row 1, as in a spreadsheet)."""

    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CsvInvalid(f"the file is not UTF-8 text (byte {exc.start})") from None


def _header(table: Table, header: list[str], max_columns: int) -> list[Column]:
    if len(header) > max_columns:
        raise CsvInvalid(f"the header has {len(header)} columns; the table allows "
                         f"{max_columns}")
    names = [h.strip() for h in header]
    unknown = [n for n in names if n not in table.by_name]
    if unknown:
        raise CsvInvalid(f"row 1: no column '{unknown[0][:64]}' in table '{table.name}'",
                         extra={"row": 1, "column": unknown[0][:64]})
    if len(set(names)) != len(names):
        raise CsvInvalid("row 1: a column appears twice in the header", extra={"row": 1})
    if table.key.name not in names:
        raise CsvInvalid(f"row 1: the key column '{table.key.name}' is missing",
                         extra={"row": 1})
    return [table.by_name[n] for n in names]


def _convert(store: Store, table: Table, columns: list[Column], cells: list[str],
             number: int) -> dict[str, Any]:
    if len(cells) != len(columns):
        raise CsvInvalid(f"row {number}: {len(cells)} cells, the header has {len(columns)}",
                         extra={"row": number})
    values: dict[str, Any] = {}
    for col, cell in zip(columns, cells, strict=True):
        try:
            values[col.name] = V.parse(col.type, unescape(cell))
        except V.ValueProblem as exc:
            raise RowInvalid(f"row {number}, column {col.name}: {exc}",
                             extra={"row": number, "column": col.name}) from None
    try:
        return merged(store, table, {}, row_values(store, table, values))
    except TableError as exc:
        raise type(exc)(f"row {number}: {exc.message}", code=exc.code,
                        extra={**exc.extra, "row": number}) from None


def parse_csv(store: Store, table: Table, data: bytes) -> Parsed:
    """Check every row of a CSV file against the table (nothing is written)."""
    if len(data) > store.limits.csv_max_bytes:
        raise TableError(f"the CSV file is larger than {store.limits.csv_max_bytes} bytes",
                         code="payload_too_large", status=413)
    text = _decode(data)
    if "\0" in text:
        raise CsvInvalid("the file contains a NUL byte: is it a binary file?")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if not header:
            raise CsvInvalid("the file has no header row")
        out = Parsed(_header(table, header, store.limits.max_columns))
        for number, cells in enumerate(reader, start=2):
            if not cells:
                continue
            if len(out.rows) >= store.limits.max_rows:  # bounds memory before anything else
                raise TableConflict(f"row {number}: a table holds at most "
                                    f"{store.limits.max_rows} rows", code="table_full")
            out.rows.append(_convert(store, table, out.columns, cells, number))
            out.numbers.append(number)
    except csv.Error as exc:
        raise CsvInvalid(f"line {reader.line_num}: {exc}", extra={"line": reader.line_num}
                         ) from None
    return out


def _tokens(parsed: Parsed, table: Table, ix: Indexer) -> list[str]:
    tokens, seen = [], {}
    for data, number in zip(parsed.rows, parsed.numbers, strict=True):
        token = ix.token(table.key, data[table.key_id])
        if token in seen:
            raise DuplicateKey(f"row {number} repeats the {table.key.name} of row "
                               f"{seen[token]}", extra={"row": number})
        seen[token] = number
        tokens.append(token)
    return tokens


async def _existing(store: Store, conn: Any, table: Table, tokens: list[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for start in range(0, len(tokens), BATCH):
        rows = await conn.execute(sa.select(R.id, R.key_token, R.data).where(
            R.table_id == table.id, R.key_token.in_(tokens[start:start + BATCH])))
        found.update({r.key_token: r for r in rows})
    return found


async def import_csv(store: Store, *, workspace_id: str, name: str, data: bytes,
                     mode: str = "insert") -> dict[str, int]:
    """Import a CSV file in one transaction. ``mode``: ``insert`` (a key already in the table
    is ``duplicate_key``) or ``upsert`` (such rows take the file's cells, an empty cell
    empties the column; columns not in the file are kept)."""
    if mode not in ("insert", "upsert"):
        raise CsvInvalid("mode is insert or upsert", code="invalid_mode")
    await store.codec.prepare(workspace_id)
    async with store.db.read() as conn:
        parsed = parse_csv(store, await load(conn, workspace_id, name), data)
    async with store.db.write() as conn:
        table = await load(conn, workspace_id, name, lock=True)
        if any(table.by_id.get(c.id) != c for c in parsed.columns):
            raise TableConflict("the table's schema changed during the import; try again",
                                code="table_changed")
        ix = await indexer(store, conn, table)
        tokens = _tokens(parsed, table, ix)
        existing = await _existing(store, conn, table, tokens)
        new, updated = [], 0
        for data_, token, number in zip(parsed.rows, tokens, parsed.numbers, strict=True):
            old = existing.get(token)
            if old is None:
                new.append((data_, None))
            elif mode == "insert":
                raise DuplicateKey(f"row {number}: table '{table.name}' already has a row with "
                                   f"this {table.key.name}", extra={"row": number})
            else:
                old_data = store.codec.decode(workspace_id, old.data)
                await replace_row(conn, store, table, ix, old.id,
                                  merged(store, table, old_data, data_))
                updated += 1
        await add_rows(conn, store, table, ix, new)
    return {"inserted": len(new), "updated": updated}


def _line(cells: list[str]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(cells)
    return buf.getvalue()


async def export_csv(store: Store, *, workspace_id: str, name: str) -> AsyncIterator[str]:
    """The table as CSV text chunks: a header, then one row per line in creation order.
    The table is looked up at once (``table_not_found`` before anything is sent)."""
    await store.codec.prepare(workspace_id)
    async with store.db.read() as conn:
        table = await load(conn, workspace_id, name)
    columns = [table.key] + [c for c in table.columns if c.id != table.key_id]

    async def chunks() -> AsyncIterator[str]:
        yield _line([c.name for c in columns])
        after = ""
        while True:
            async with store.db.read() as conn:
                rows = (await conn.execute(sa.select(R.id, R.data).where(
                    R.table_id == table.id, R.id > after).order_by(R.id).limit(BATCH))).all()
            buf = io.StringIO()
            writer = csv.writer(buf)
            for row in rows:
                data = store.codec.decode(workspace_id, row.data)
                writer.writerow([escape(c.type, V.to_text(c.type, data.get(c.id)))
                                 for c in columns])
            yield buf.getvalue()
            if len(rows) < BATCH:
                return
            after = rows[-1].id

    return chunks()
