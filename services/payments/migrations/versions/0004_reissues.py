"""Re-issues of definitive failures: an entitlement line may re-issue one failed payment; each is re-issued once.

A household may now hold two lines in a cycle (its own, and the re-issue of an earlier failure), so the one line
per household rule holds for ordinary lines only. A failed payment is re-issued by at most one payment; which
entitlement lines may carry it (none in a live cycle already) is checked under a per-programme lock.
An index serves the voucher expiry job; another finds the latest attempt of an entitlement (the cycle summary
looked it up with a scan of every payment per entitlement: quadratic in the size of the payment table).

Revision ID: 0004
Revises: 0003
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DDL = """
ALTER TABLE "{s}".entitlement ADD COLUMN reissue_of uuid REFERENCES "{s}".payment (id);
ALTER TABLE "{s}".entitlement DROP CONSTRAINT entitlement_cycle_id_household_id_key;
CREATE UNIQUE INDEX entitlement_one_per_household ON "{s}".entitlement (cycle_id, household_id) WHERE reissue_of IS NULL;
CREATE UNIQUE INDEX entitlement_one_reissue_per_cycle ON "{s}".entitlement (cycle_id, reissue_of) WHERE reissue_of IS NOT NULL;
CREATE INDEX entitlement_reissue_of ON "{s}".entitlement (reissue_of) WHERE reissue_of IS NOT NULL;
CREATE UNIQUE INDEX payment_reissued_once ON "{s}".payment (reissue_of) WHERE reissue_of IS NOT NULL;
CREATE UNIQUE INDEX payment_one_per_reissue_line ON "{s}".payment (entitlement_id) WHERE reissue_of IS NOT NULL;
CREATE INDEX payment_entitlement ON "{s}".payment (entitlement_id, attempt_no DESC);
CREATE INDEX entitlement_household ON "{s}".entitlement (household_id);
CREATE INDEX voucher_issued_expiry ON "{s}".voucher (expires_at) WHERE state = 'ISSUED';
"""


def upgrade(schema: str) -> None:
    for statement in DDL.format(s=schema).split(";"):
        if statement.strip():
            op.execute(statement)
