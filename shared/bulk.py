"""Set-based writes: many rows through COPY into a temporary table, then one `INSERT … SELECT`.

Measured on this machine for 20,000 rows of 13 columns: psycopg executemany ~3.4 s, one statement over
`unnest` arrays ~1.4 s, COPY + `INSERT … SELECT` a fraction of a second. This is the easy path for every
high-volume write (imports, projections, the outbox), with upsert and skip-on-conflict variants.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from operator import attrgetter
from typing import Any

from sqlalchemy import Connection, Dialect, Table, text


def insert_rows(
    connection: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]] | Sequence[Sequence[Any]],
    *,
    columns: Sequence[str] | None = None,
    conflict: Sequence[str] | None = None,
    update: Sequence[str] = (),
    touch: str | None = None,
    returning: str | None = None,
) -> list[Any]:
    """Insert `rows` in the connection's transaction: mappings with the same keys, or, with `columns`,
    sequences of values in that order (the cheaper form for hot paths).

    With `conflict`, rows whose key exists are skipped (`update` empty) or have the `update` columns
    overwritten (and `touch` set to now()). With `returning`, the values of that column for the rows actually
    written are returned.
    """
    if not rows:
        return []
    if columns is None:
        mappings: Sequence[Mapping[str, Any]] = rows  # type: ignore[assignment]
        columns = list(mappings[0].keys())
        values: Sequence[Sequence[Any]] = [[row[name] for name in columns] for row in mappings]
    else:
        values = rows  # type: ignore[assignment]
    quoted = ", ".join(f'"{name}"' for name in columns)
    staging = f"staging_{table.schema}_{table.name}"
    connection.execute(
        text(
            f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" '
            f'(LIKE "{table.schema}"."{table.name}" INCLUDING DEFAULTS) ON COMMIT DELETE ROWS'
        )
    )
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f'COPY "{staging}" ({quoted}) FROM STDIN') as copy:
        for row in values:
            copy.write_row(row)
    sql = f'INSERT INTO "{table.schema}"."{table.name}" ({quoted}) SELECT {quoted} FROM "{staging}"'
    if conflict:
        target = ", ".join(f'"{name}"' for name in conflict)
        if update:
            assignments = [f'"{name}" = EXCLUDED."{name}"' for name in update]
            if touch:
                assignments.append(f'"{touch}" = now()')
            sql += f" ON CONFLICT ({target}) DO UPDATE SET {', '.join(assignments)}"
        else:
            sql += f" ON CONFLICT ({target}) DO NOTHING"
    if returning:
        sql += f' RETURNING "{returning}"'
    result = connection.execute(text(sql))
    written = list(result.scalars()) if returning else []
    connection.execute(text(f'TRUNCATE "{staging}"'))
    return written


def append_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Append `rows` (mappings with the same keys) to a table nothing conflicts with (an outbox, a history):
    one binary COPY straight into it, in the connection's transaction.

    For a few large rows this is the cheap path: the outbox's events carry up to a thousand items each
    (~330 KB), and `insert_rows` — text COPY, bytes as hex, through a staging table — took ~23 ms per event
    in the server's statement statistics (the GSMA release of 50,000 payments; a COPY's time there includes
    the client's streaming of the rows). With migration 0008, PostgreSQL's CPU per GSMA payment went from
    0.61–0.64 ms to 0.51–0.55 ms (same hour, two runs each).
    """
    if not rows:
        return
    columns = tuple(rows[0].keys())
    statement, types = _binary_copy(table, columns, connection.dialect)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row([row[name] for name in columns])


@lru_cache(maxsize=256)
def _binary_copy(table: Table, columns: tuple[str, ...], dialect: Dialect) -> tuple[str, list[str]]:
    """The COPY statement for these columns, and their PostgreSQL types (worked out once per table and columns:
    `append_rows` runs at every commit that publishes an event)."""
    quoted = ", ".join(f'"{name}"' for name in columns)
    statement = f'COPY "{table.schema}"."{table.name}" ({quoted}) FROM STDIN (FORMAT BINARY)'
    return statement, [table.c[name].type.compile(dialect=dialect).lower() for name in columns]


def upsert_objects(
    connection: Connection,
    table: Table,
    objects: Sequence[Any],
    *,
    key: str,
    fields: Sequence[str],
    touch: str | None = None,
) -> None:
    """Insert or refresh one row per object (e.g. event items), taking `key` and `fields` from its attributes."""
    if not objects:
        return
    row = attrgetter(key, *fields)
    insert_rows(
        connection,
        table,
        [row(item) for item in objects],
        columns=(key, *fields),
        conflict=[key],
        update=fields,
        touch=touch,
    )
