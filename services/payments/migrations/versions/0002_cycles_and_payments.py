"""Memberships, schemes, cycles, entitlements, payments with history, raw callbacks, vouchers and vendors.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

DDL = """
CREATE TABLE "{s}".membership (
    programme_code text NOT NULL,
    household_id   uuid NOT NULL,
    enrolment_id   uuid NOT NULL,
    status         text NOT NULL,
    shock          text,
    ends_on        date,
    max_cycles     integer,
    effective_at   timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_code, household_id)
);
CREATE INDEX membership_household ON "{s}".membership (household_id);

CREATE TABLE "{s}".scheme (
    id             uuid PRIMARY KEY,
    programme_code text NOT NULL,
    first_period   text NOT NULL,
    body           jsonb NOT NULL,
    created_by     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX scheme_programme ON "{s}".scheme (programme_code, created_at DESC);

CREATE TABLE "{s}".cross_programme_policy (
    programme_code text NOT NULL,
    other_code     text NOT NULL,
    action         text NOT NULL CHECK (action IN ('allow', 'flag', 'block')),
    updated_by     text NOT NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (programme_code, other_code)
);

CREATE TABLE "{s}".cycle (
    id             uuid PRIMARY KEY,
    programme_code text NOT NULL,
    period         text NOT NULL,
    cycle_no       integer NOT NULL,
    funding_line   text NOT NULL,
    piggyback_of   text,
    refocus        jsonb,
    scheme_id      uuid NOT NULL REFERENCES "{s}".scheme (id),
    state          text NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'released', 'closed', 'cancelled')),
    created_by     text NOT NULL,
    submitted_by   text,
    approved_by    text,
    released_by    text,
    cancelled_by   text,
    cancel_reason  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    released_at    timestamptz,
    closed_at      timestamptz
);
CREATE UNIQUE INDEX cycle_one_per_period ON "{s}".cycle (programme_code, period) WHERE state <> 'cancelled';

CREATE TABLE "{s}".entitlement (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cycle_id        uuid NOT NULL REFERENCES "{s}".cycle (id),
    household_id    uuid NOT NULL,
    sequence        integer NOT NULL,
    base_amount     bigint NOT NULL CHECK (base_amount > 0),
    top_up_amount   bigint NOT NULL DEFAULT 0 CHECK (top_up_amount >= 0),
    modality        text NOT NULL,
    provider        text,
    payee_msisdn    text,
    payee_name      text NOT NULL,
    region          text NOT NULL,
    cercle          text NOT NULL,
    commune         text NOT NULL,
    flags           text[] NOT NULL DEFAULT '{{}}',
    blocked         boolean NOT NULL DEFAULT false,
    UNIQUE (cycle_id, household_id),
    UNIQUE (cycle_id, sequence)
);

CREATE TABLE "{s}".top_up (
    id                 uuid PRIMARY KEY,
    cycle_id           uuid NOT NULL REFERENCES "{s}".cycle (id),
    area               jsonb NOT NULL,
    fixed_amount       bigint,
    multiplier_percent integer,
    households         integer NOT NULL,
    amount             bigint NOT NULL,
    created_by         text NOT NULL,
    created_at         timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "{s}".payment (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    cycle_id             uuid NOT NULL REFERENCES "{s}".cycle (id),
    entitlement_id       uuid NOT NULL REFERENCES "{s}".entitlement (id),
    household_id         uuid NOT NULL,
    instruction_id       text NOT NULL CHECK (length(instruction_id) <= 16),
    attempt_no           integer NOT NULL DEFAULT 1,
    reference            text NOT NULL UNIQUE CHECK (length(reference) <= 16),
    provider_request_key uuid NOT NULL UNIQUE,
    batch_key            uuid,
    batch_ref            text,
    modality             text NOT NULL,
    provider             text,
    payee_msisdn         text,
    amount               bigint NOT NULL CHECK (amount > 0),
    base_amount          bigint NOT NULL,
    top_up_amount        bigint NOT NULL,
    state                text NOT NULL,
    provider_tx_ref      text,
    request_state_ref    text,
    failure_code         text,
    fee                  bigint,
    needs_query          boolean NOT NULL DEFAULT false,
    claimed_at           timestamptz,
    sends                integer NOT NULL DEFAULT 0,
    queries              integer NOT NULL DEFAULT 0,
    reissue_of           uuid REFERENCES "{s}".payment (id),
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (instruction_id, attempt_no)
);
CREATE UNIQUE INDEX payment_one_per_entitlement ON "{s}".payment (entitlement_id) WHERE reissue_of IS NULL;
CREATE INDEX payment_cycle_state ON "{s}".payment (cycle_id, state);
CREATE INDEX payment_to_send ON "{s}".payment (provider, id) WHERE state IN ('APPROVED', 'UNKNOWN');
CREATE INDEX payment_to_query ON "{s}".payment (provider, id) WHERE needs_query;
CREATE INDEX payment_batch ON "{s}".payment (batch_ref) WHERE batch_ref IS NOT NULL;

CREATE TABLE "{s}".payment_history (
    id          bigserial PRIMARY KEY,
    payment_id  uuid NOT NULL,
    from_state  text,
    to_state    text NOT NULL,
    outcome     text NOT NULL,
    reason      text NOT NULL,
    source      text NOT NULL,
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX payment_history_payment ON "{s}".payment_history (payment_id, id);

CREATE TABLE "{s}".raw_callback (
    id           bigserial PRIMARY KEY,
    provider     text NOT NULL,
    method       text NOT NULL,
    path         text NOT NULL,
    headers      jsonb NOT NULL,
    body         bytea NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    payment_id   uuid,
    event_key    text,
    outcome      text,
    detail       text
);
CREATE INDEX raw_callback_outcome ON "{s}".raw_callback (outcome) WHERE outcome IN ('unknown_reference', 'discarded');
CREATE UNIQUE INDEX raw_callback_event_key ON "{s}".raw_callback (event_key) WHERE outcome = 'applied';

CREATE TABLE "{s}".vendor (
    vendor_id       text PRIMARY KEY,
    name            text NOT NULL,
    programme_codes text[] NOT NULL,
    active          boolean NOT NULL DEFAULT true,
    created_by      text NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "{s}".voucher (
    id             uuid PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    payment_id     uuid NOT NULL UNIQUE REFERENCES "{s}".payment (id),
    cycle_id       uuid NOT NULL,
    household_id   uuid NOT NULL,
    programme_code text NOT NULL,
    amount         bigint NOT NULL CHECK (amount > 0),
    state          text NOT NULL,
    expires_at     timestamptz NOT NULL,
    issued_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE "{s}".voucher_redemption (
    voucher_id   uuid PRIMARY KEY REFERENCES "{s}".voucher (id),
    vendor_id    text NOT NULL REFERENCES "{s}".vendor (vendor_id),
    amount       bigint NOT NULL,
    redeemed_at  timestamptz NOT NULL DEFAULT now()
);
"""


def upgrade(schema: str) -> None:
    for statement in DDL.format(s=schema).split(";"):
        if statement.strip():
            op.execute(statement)
