"""Set-based updates: rows COPYed into a temporary table, then one `UPDATE … FROM` on their key."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, text

from reconciliation.db.keys import copy_rows


def update_rows(
    connection: Connection,
    table: Table,
    *,
    key: Sequence[str],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    touch: str | None = None,
) -> int:
    """Set `columns` of the rows of `table` whose `key` columns equal the first values of each row.

    `rows` may be a generator: it is streamed into the COPY, never held whole.
    """
    iterator = iter(rows)
    first = next(iterator, None)
    if first is None:
        return 0
    names = [*key, *columns]
    staging = f"update_{table.schema}_{table.name}"
    definitions = ", ".join(
        f'"{name}" {table.c[name].type.compile(dialect=connection.dialect)}' for name in names
    )
    connection.execute(text(f'CREATE TEMP TABLE IF NOT EXISTS "{staging}" ({definitions}) ON COMMIT DROP'))
    copy_rows(connection, f'"{staging}"', names, itertools.chain((first,), iterator))
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
