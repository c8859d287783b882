"""Expectations, vouchers, statements and their lines, discrepancies, known accounts and the audit chain.

Revision ID: 0002
Revises: 0001

The audit log is append-only by convention only: the service's database role owns the table, and an owner
cannot be denied UPDATE or DELETE on its own table. The protection is the hash chain (each entry's hash
covers the previous one's) plus the head row (`audit_head`, the newest seq and hash, updated in the same
transaction as each append): `GET /v1/audit/verification` and `filet audit verify` recompute both and
name the first edited, inserted or deleted entry.

An account becomes known (statements of other accounts are refused) through `filet statements account
ACCOUNT --provider NAME`, which inserts into `known_account`; float fundings we ordered through `filet
statements funding REFERENCE AMOUNT` (no event carries them yet).
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    op.execute(
        f"""
        CREATE TABLE "{schema}".cycle (
            cycle_id       uuid PRIMARY KEY,
            programme_code text,
            period         text,
            state          text NOT NULL,
            planned_count  integer,
            planned_amount bigint,
            updated_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE "{schema}".expectation (
            instruction_id       text PRIMARY KEY,
            payment_id           uuid NOT NULL,
            cycle_id             uuid NOT NULL,
            programme_code       text NOT NULL,
            period               text NOT NULL,
            household_id         uuid NOT NULL,
            provider             text NOT NULL,
            modality             text NOT NULL,
            payee                text NOT NULL,
            amount               bigint NOT NULL CHECK (amount >= 0),
            currency             text NOT NULL DEFAULT 'XOF',
            region               text NOT NULL,
            cercle               text NOT NULL,
            commune              text NOT NULL,
            provider_request_key text,
            provider_tx_ref      text,
            state                text NOT NULL,
            reported_status      text,
            instructed_on        date NOT NULL,
            confirmed_on         date,
            confirmed_amount     bigint,
            outcome              text,
            settled_amount       bigint NOT NULL DEFAULT 0,
            updated_at           timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX expectation_cycle ON "{schema}".expectation (cycle_id);
        CREATE INDEX expectation_provider ON "{schema}".expectation (provider);
        CREATE INDEX expectation_request_key ON "{schema}".expectation (provider_request_key);
        CREATE INDEX expectation_tx_ref ON "{schema}".expectation (provider_tx_ref);
        CREATE TABLE "{schema}".voucher (
            voucher_id     uuid PRIMARY KEY,
            payment_id     uuid NOT NULL,
            cycle_id       uuid NOT NULL,
            instruction_id text NOT NULL,
            household_id   uuid NOT NULL,
            amount         bigint NOT NULL,
            state          text NOT NULL CHECK (state IN ('issued', 'redeemed', 'expired')),
            expires_at     timestamptz NOT NULL,
            vendor_id      text,
            redeemed_amount bigint,
            redeemed_at    timestamptz,
            updated_at     timestamptz NOT NULL DEFAULT now()
        );
        CREATE INDEX voucher_cycle ON "{schema}".voucher (cycle_id);
        CREATE TABLE "{schema}".known_account (
            account_id text PRIMARY KEY,
            provider   text NOT NULL,
            added_by   text NOT NULL,
            added_at   timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE "{schema}".funding (
            reference text PRIMARY KEY,
            amount    bigint NOT NULL CHECK (amount >= 0),
            added_by  text NOT NULL,
            added_at  timestamptz NOT NULL DEFAULT now()
        );
        CREATE TABLE "{schema}".statement (
            statement_id    uuid PRIMARY KEY,
            file_sha256     text NOT NULL,
            position        integer NOT NULL,
            format          text NOT NULL,
            account_id      text NOT NULL,
            provider        text NOT NULL,
            currency        text NOT NULL,
            reference       text,
            sequence_number integer,
            period_start    date,
            period_end      date,
            covers_through  date,
            opening_balance bigint NOT NULL,
            closing_balance bigint NOT NULL,
            line_count      integer NOT NULL,
            checks          jsonb NOT NULL,
            outcomes        jsonb NOT NULL DEFAULT '{{}}',
            imported_by     text NOT NULL,
            imported_at     timestamptz NOT NULL DEFAULT now(),
            UNIQUE (file_sha256, position)
        );
        CREATE INDEX statement_account ON "{schema}".statement (account_id, imported_at);
        CREATE TABLE "{schema}".statement_line (
            statement_id        uuid NOT NULL REFERENCES "{schema}".statement,
            position            integer NOT NULL,
            line_id             text NOT NULL,
            booking_date        date NOT NULL,
            value_date          date NOT NULL,
            direction           text NOT NULL,
            amount              bigint NOT NULL,
            currency            text NOT NULL,
            kind                text NOT NULL,
            status              text NOT NULL,
            raw_status          text NOT NULL,
            our_ref             text,
            provider_ref        text,
            counterparty_msisdn text,
            counterparty_account text,
            counterparty_name   text,
            return_reason       text,
            details             text,
            outcome             text,
            reference           text,
            matched_by          text,
            suggestions         text,
            PRIMARY KEY (statement_id, position)
        );
        CREATE INDEX statement_line_our_ref ON "{schema}".statement_line (our_ref);
        CREATE INDEX statement_line_provider_ref ON "{schema}".statement_line (provider_ref);
        CREATE TABLE "{schema}".discrepancy (
            discrepancy_id   uuid PRIMARY KEY,
            subject          text NOT NULL,
            category         text NOT NULL,
            cycle_id         uuid,
            instruction_id   text,
            statement_id     uuid,
            line_position    integer,
            severity         text NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
            amount_at_stake  bigint NOT NULL,
            suggested_action text NOT NULL,
            status           text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
            resolution       text,
            resolved_by      text,
            resolved_at      timestamptz,
            found_at         timestamptz NOT NULL DEFAULT now(),
            UNIQUE (subject, category)
        );
        CREATE INDEX discrepancy_cycle ON "{schema}".discrepancy (cycle_id, category);
        CREATE TABLE "{schema}".audit_log (
            seq         bigint PRIMARY KEY,
            event_id    uuid UNIQUE,
            occurred_at timestamptz NOT NULL,
            actor       text NOT NULL,
            role        text NOT NULL,
            service     text NOT NULL,
            action      text NOT NULL,
            subject     text NOT NULL,
            before      jsonb,
            after       jsonb,
            prev_hash   text NOT NULL,
            hash        text NOT NULL
        );
        CREATE TABLE "{schema}".audit_head (
            id   boolean PRIMARY KEY DEFAULT true CHECK (id),
            seq  bigint NOT NULL,
            hash text NOT NULL
        );
        INSERT INTO "{schema}".audit_head (id, seq, hash) VALUES (true, 0, '{"0" * 64}');
        """
    )
