"""Vendors' voucher redemption reports, their lines and the days they cover; voucher codes and outcomes.

Revision ID: 0003
Revises: 0002

A voucher's code reaches reconciliation with `voucher.redeemed` (only once it is spent: a code still open
is a bearer value, and stays in payments). Vouchers redeemed before that field existed keep a NULL code:
no report can name them, and they stay "awaiting a report" in the summary.

A discrepancy found by a report names it (`report_id`, `report_position`), as a statement's names its
statement and line.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.execute(
        f"""
        ALTER TABLE "{schema}".voucher
            ADD COLUMN code text,
            ADD COLUMN report_outcome text;
        CREATE UNIQUE INDEX voucher_code ON "{schema}".voucher (code) WHERE code IS NOT NULL;
        CREATE INDEX voucher_vendor_redeemed ON "{schema}".voucher (vendor_id, redeemed_at)
            WHERE state = 'redeemed';
        ALTER TABLE "{schema}".discrepancy
            ADD COLUMN report_id uuid,
            ADD COLUMN report_position integer;
        CREATE INDEX discrepancy_report ON "{schema}".discrepancy (report_id) WHERE report_id IS NOT NULL;
        CREATE TABLE "{schema}".redemption_report (
            report_id     uuid PRIMARY KEY,
            seq           bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
            file_sha256   text NOT NULL UNIQUE,
            vendors       jsonb NOT NULL DEFAULT '[]',
            period_start  date,
            period_end    date,
            line_count    integer NOT NULL DEFAULT 0,
            rejected      jsonb NOT NULL DEFAULT '[]',
            outcomes      jsonb NOT NULL DEFAULT '{{}}',
            imported_by   text NOT NULL,
            imported_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE "{schema}".redemption_line (
            report_id   uuid NOT NULL REFERENCES "{schema}".redemption_report,
            position    integer NOT NULL,
            row_number  integer NOT NULL,
            vendor_id   text NOT NULL,
            code        text NOT NULL,
            amount      bigint NOT NULL CHECK (amount > 0),
            currency    text NOT NULL DEFAULT 'XOF',
            redeemed_at timestamptz NOT NULL,
            receipt     text,
            outcome     text,
            voucher_id  uuid,
            PRIMARY KEY (report_id, position)
        );
        CREATE INDEX redemption_line_code ON "{schema}".redemption_line (code);
        CREATE INDEX redemption_line_voucher ON "{schema}".redemption_line (voucher_id);
        CREATE TABLE "{schema}".redemption_coverage (
            report_id  uuid NOT NULL REFERENCES "{schema}".redemption_report,
            vendor_id  text NOT NULL,
            first_day  date NOT NULL,
            last_day   date NOT NULL,
            PRIMARY KEY (report_id, vendor_id)
        );
        CREATE INDEX redemption_coverage_vendor ON "{schema}".redemption_coverage (vendor_id);
        """
    )
