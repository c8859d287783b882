"""Set-based updates: rows COPYed into a temporary table, then one `UPDATE … FROM` on their key."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, text


def update_rows(
    connection: Connection,
    table: Table,
    *,
    key: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    touch: str | None = None,
) -> int:
    """Set `columns` of the rows of `table` whose `key` columns equal the first values of each row."""
    if not rows:
        return 0
    names = [*key, *columns]
    staging = f"update_{table.schema}_{table.name}"
    definitions = ", ".join(
        f'"{name}" {table.c[name].type.compile(dialect=connection.dialect)}' for name in names
    )
    connection.execute(text(f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" ({definitions}) ON COMMIT DROP'))
    quoted = ", ".join(f'"{name}"' for name in names)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f'COPY "{staging}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
    assignments = [f'"{name}" = s."{name}"' for name in columns]
    if touch:
        assignments.append(f'"{touch}" = now()')
    on = " AND ".join(f't."{name}" = s."{name}"' for name in key)
    result = connection.execute(
        text(
            f'UPDATE "{table.schema}"."{table.name}" AS t SET {", ".join(assignments)} '
            f'FROM "{staging}" AS s WHERE {on}'
        )
    )
    connection.execute(text(f'DROP TABLE "{staging}"'))
    return int(result.rowcount)
