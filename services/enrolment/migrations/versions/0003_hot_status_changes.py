"""Status changes of enrolments that rewrite no index entry (HOT updates).

Every move of an enrolment (target, validate, activate, suspend) changed `status`, a column of two of the
table's indexes (a key of `enrolment_programme_status`, the predicate of `enrolment_live`): none of those
updates could be HOT, so each wrote a new entry in all four indexes.

- The live-enrolment uniqueness reads a stored generated column, `exited`, which changes only when an
  enrolment exits (the one move that must leave the index).
- Enrolments are found by programme through (programme_code, id); their status is filtered on the rows.
- Pages are kept half empty (fillfactor 50): a bulk move rewrites every row of the programme, and a HOT
  update needs room for the new version on the same page.

Revision ID: 0003
Revises: 0002
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

DDL = """
ALTER TABLE "{s}".enrolment ADD COLUMN exited boolean GENERATED ALWAYS AS (status = 'exited') STORED;
CREATE UNIQUE INDEX enrolment_live_household ON "{s}".enrolment (programme_code, household_id) WHERE NOT exited;
DROP INDEX "{s}".enrolment_live;
ALTER INDEX "{s}".enrolment_live_household RENAME TO enrolment_live;
CREATE INDEX enrolment_programme ON "{s}".enrolment (programme_code, id);
DROP INDEX "{s}".enrolment_programme_status;
ALTER TABLE "{s}".enrolment SET (fillfactor = 50)
"""


def upgrade(schema: str) -> None:
    for statement in DDL.format(s=schema).split(";\n"):
        if statement.strip():
            op.execute(statement)
