"""The body of every service's Alembic env.py: migrate one schema on the connection `shared.db.upgrade` gives."""

from __future__ import annotations

from typing import Any


def run_migrations(context: Any) -> None:
    config = context.config
    connection = config.attributes["connection"]
    schema = config.attributes["schema"]
    context.configure(
        connection=connection,
        version_table_schema=schema,
        include_schemas=False,
        transaction_per_migration=False,
    )
    context.config.attributes["schema"] = schema
    with context.begin_transaction():
        context.run_migrations(schema=schema)
