"""Alembic environment of the payments schema."""

from alembic import context

from shared.alembic_env import run_migrations

run_migrations(context)
