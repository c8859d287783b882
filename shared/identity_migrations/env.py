"""Alembic environment of the identity schema (bearer tokens)."""

from alembic import context

from shared.alembic_env import run_migrations

run_migrations(context)
