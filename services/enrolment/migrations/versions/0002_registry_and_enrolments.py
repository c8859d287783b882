"""Programmes, household status and indexes, enrolments and their history, imports, duplicates, payment details.

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade(schema: str) -> None:
    s = f'"{schema}"'
    op.execute(
        f"""
        CREATE TABLE {s}.programme (
            code             text PRIMARY KEY,
            name             text NOT NULL,
            zone             jsonb NOT NULL,
            duration_months  integer NOT NULL CHECK (duration_months >= 1),
            targeting_method text NOT NULL CHECK (targeting_method IN ('pmt', 'hea', 'categorical')),
            capacity         integer CHECK (capacity >= 1),
            created_by       text NOT NULL,
            created_at       timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(
        f"""
        ALTER TABLE {s}.household
            ADD COLUMN programme_ids jsonb NOT NULL DEFAULT '{{}}'::jsonb,
            ADD COLUMN status        text NOT NULL DEFAULT 'registered'
                                     CHECK (status IN ('registered', 'merged')),
            ADD COLUMN merged_into   uuid REFERENCES {s}.household (id),
            ADD COLUMN import_id     uuid
        """
    )
    op.execute(f"CREATE INDEX household_nina ON {s}.household (nina) WHERE nina IS NOT NULL")
    op.execute(f"CREATE INDEX household_msisdn ON {s}.household (msisdn) WHERE msisdn IS NOT NULL")
    op.execute(f"CREATE INDEX household_born_in_cercle ON {s}.household (cercle, head_birth_year)")
    op.execute(
        f"""
        CREATE TABLE {s}.payment_details (
            id             bigserial PRIMARY KEY,
            household_id   uuid NOT NULL REFERENCES {s}.household (id),
            msisdn         text,
            operator       text,
            effective_from date NOT NULL,
            recorded_by    text NOT NULL,
            recorded_at    timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    op.execute(f"CREATE INDEX payment_details_household ON {s}.payment_details (household_id, id)")
    op.execute(
        f"""
        CREATE TABLE {s}.enrolment (
            id              uuid PRIMARY KEY,
            household_id    uuid NOT NULL REFERENCES {s}.household (id),
            programme_code  text NOT NULL REFERENCES {s}.programme (code),
            status          text NOT NULL CHECK (
                status IN ('registered', 'targeted', 'validated', 'active', 'suspended', 'exited')),
            registered_at   timestamptz NOT NULL,
            started_on      date,
            validated_by    text,
            validated_at    timestamptz,
            validated_where text,
            exit_reason     text,
            updated_at      timestamptz NOT NULL DEFAULT now()
        )
        """
    )
    # One live enrolment per household and programme; an exited household may be enrolled again.
    op.execute(
        f"CREATE UNIQUE INDEX enrolment_live ON {s}.enrolment (programme_code, household_id) "
        "WHERE status <> 'exited'"
    )
    op.execute(f"CREATE INDEX enrolment_programme_status ON {s}.enrolment (programme_code, status, id)")
    op.execute(f"CREATE INDEX enrolment_household ON {s}.enrolment (household_id)")
    op.execute(
        f"""
        CREATE TABLE {s}.temporary_enrolment (
            enrolment_id uuid PRIMARY KEY REFERENCES {s}.enrolment (id),
            shock        text NOT NULL,
            ends_on      date,
            max_cycles   integer CHECK (max_cycles >= 1),
            paid_cycles  integer NOT NULL DEFAULT 0,
            CHECK (ends_on IS NOT NULL OR max_cycles IS NOT NULL)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE {s}.enrolment_transition (
            id           bigserial PRIMARY KEY,
            enrolment_id uuid NOT NULL REFERENCES {s}.enrolment (id),
            from_status  text,
            to_status    text NOT NULL,
            at           timestamptz NOT NULL,
            by           text NOT NULL,
            reason       text,
            validated_by text,
            "where"      text
        )
        """
    )
    op.execute(f"CREATE INDEX enrolment_transition_enrolment ON {s}.enrolment_transition (enrolment_id, id)")
    # cycle.released events applied to temporary enrolments: a cycle counts once per enrolment.
    op.execute(
        f"""
        CREATE TABLE {s}.paid_cycle (
            enrolment_id uuid NOT NULL REFERENCES {s}.enrolment (id),
            cycle_id     uuid NOT NULL,
            PRIMARY KEY (enrolment_id, cycle_id)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE {s}.import_job (
            id            uuid PRIMARY KEY,
            format        text NOT NULL CHECK (format IN ('csv', 'jsonl')),
            strict        boolean NOT NULL,
            sha256        text NOT NULL,
            size_bytes    bigint NOT NULL,
            status        text NOT NULL CHECK (
                status IN ('queued', 'running', 'completed', 'failed', 'rolled_back')),
            rows_total    integer,
            rows_done     integer NOT NULL DEFAULT 0,
            accepted      integer NOT NULL DEFAULT 0,
            rejected      integer NOT NULL DEFAULT 0,
            duplicates    integer NOT NULL DEFAULT 0,
            error         jsonb,
            created_by    text NOT NULL,
            created_at    timestamptz NOT NULL DEFAULT now(),
            started_at    timestamptz,
            finished_at   timestamptz
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE {s}.import_row (
            import_id    uuid NOT NULL REFERENCES {s}.import_job (id),
            row_number   integer NOT NULL,
            outcome      text NOT NULL CHECK (outcome IN ('accepted', 'rejected', 'duplicate')),
            rsu_id       text,
            household_id uuid,
            field        text,
            reason       text,
            duplicate_of uuid,
            PRIMARY KEY (import_id, row_number)
        )
        """
    )
    op.execute(
        f"""
        CREATE TABLE {s}.duplicate_candidate (
            id           bigserial PRIMARY KEY,
            household_id uuid NOT NULL REFERENCES {s}.household (id),
            duplicate_of uuid NOT NULL REFERENCES {s}.household (id),
            reason       text NOT NULL CHECK (
                reason IN ('same_rsu_id', 'same_nina', 'same_msisdn', 'similar_head')),
            score        integer NOT NULL CHECK (score BETWEEN 0 AND 100),
            status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'confirmed', 'dismissed')),
            import_id    uuid,
            kept_id      uuid,
            decided_by   text,
            decided_at   timestamptz,
            created_at   timestamptz NOT NULL DEFAULT now(),
            CHECK (household_id <> duplicate_of)
        )
        """
    )
    # A pair is proposed once, whichever way round; a dismissed pair stays, so it is never proposed again.
    op.execute(
        f"CREATE UNIQUE INDEX duplicate_candidate_pair ON {s}.duplicate_candidate "
        "(LEAST(household_id, duplicate_of), GREATEST(household_id, duplicate_of))"
    )
    op.execute(f"CREATE INDEX duplicate_candidate_status ON {s}.duplicate_candidate (status, id)")
