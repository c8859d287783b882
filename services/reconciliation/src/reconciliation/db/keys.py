"""Many keys in one query: a small set as one array parameter, a large one COPYed into a temporary table."""

from __future__ import annotations

import itertools
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import Column, ColumnElement, Connection, MetaData, Table, Text, any_, literal, select, text
from sqlalchemy.dialects.postgresql import ARRAY

#: Up to this many keys travel as one array parameter; more are COPYed (an array of 200,000 values
#: costs seconds to encode and to plan, a COPY a fraction of one).
ARRAY_LIMIT = 2_000
_numbers = itertools.count()


def among(values: Iterable[str]) -> ColumnElement[Any]:
    """One array parameter (`= ANY(:values)`), however many values: an IN list is capped at 65,535."""
    return any_(literal(list(values), ARRAY(Text)))


def among_many(connection: Connection, values: Collection[str]) -> ColumnElement[Any]:
    """`ANY(…)` of `values`, for `column == among_many(…)`: an array parameter when few, else a
    temporary table (dropped at commit) that the query reads."""
    if len(values) <= ARRAY_LIMIT:
        return among(values)
    name = f"reconciliation_keys_{next(_numbers)}"
    connection.execute(text(f'CREATE TEMP TABLE "{name}" (value text) ON COMMIT DROP'))
    copy_rows(connection, f'"{name}"', ("value",), ((value,) for value in values))
    connection.execute(text(f'ANALYZE "{name}"'))
    keys = Table(name, MetaData(), Column("value", Text))
    return any_(select(keys.c.value).scalar_subquery())


def copy_rows(
    connection: Connection, target: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    """COPY `rows` (consumed as they come, never held as a list) into `target` (a quoted table name)."""
    quoted = ", ".join(f'"{name}"' for name in columns)
    raw = connection.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cursor, cursor.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
