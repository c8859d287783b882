"""The programme-membership projection (household × programme) and the household facts that follow it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

from sqlalchemy import Connection, text

from shared.events.contracts import EnrolmentItem


class MembershipRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, programme_code: str, items: Sequence[EnrolmentItem], *, recorded_at: datetime) -> None:
        """Upsert the memberships of a batch; an older fact never overwrites a newer one.

        Facts are ordered by when enrolment recorded them (the event's time, kept in `effective_at`), not by
        the business date of the move, which an operator may backdate (an activation entered a week late)."""
        if not items:
            return
        chosen = list({item.household_id: item for item in items}.values())  # in one event, the last wins
        self.connection.execute(
            text(
                'INSERT INTO "payments".membership AS m (programme_code, household_id, enrolment_id, status, '
                "shock, ends_on, max_cycles, effective_at) "
                "SELECT :p, * FROM unnest(CAST(:h AS uuid[]), CAST(:e AS uuid[]), CAST(:s AS text[]), "
                "CAST(:k AS text[]), CAST(:d AS date[]), CAST(:c AS integer[]), CAST(:t AS timestamptz[])) "
                "ON CONFLICT (programme_code, household_id) DO UPDATE SET enrolment_id = EXCLUDED.enrolment_id, "
                "status = EXCLUDED.status, shock = EXCLUDED.shock, ends_on = EXCLUDED.ends_on, "
                "max_cycles = EXCLUDED.max_cycles, effective_at = EXCLUDED.effective_at, updated_at = now() "
                "WHERE m.effective_at <= EXCLUDED.effective_at"
            ),
            {
                "p": programme_code,
                "h": [item.household_id for item in chosen],
                "e": [item.enrolment_id for item in chosen],
                "s": [item.status for item in chosen],
                "k": [item.shock for item in chosen],
                "d": [item.ends_on for item in chosen],
                "c": [item.max_cycles for item in chosen],
                "t": [recorded_at] * len(chosen),
            },
        )

    def counts(self, programme_code: str) -> dict[str, int]:
        """How many households of the programme payments knows, by membership status."""
        rows = self.connection.execute(
            text(
                'SELECT status, count(*) FROM "payments".membership WHERE programme_code = :p GROUP BY status'
            ),
            {"p": programme_code},
        ).all()
        return {str(status): int(count) for status, count in rows}

    def get(self, programme_code: str, household_id: UUID) -> dict[str, object] | None:
        row = (
            self.connection.execute(
                text('SELECT * FROM "payments".membership WHERE programme_code = :p AND household_id = :h'),
                {"p": programme_code, "h": household_id},
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def change_payment_details(self, household_id: UUID, *, msisdn: str | None, operator: str | None) -> int:
        return self.connection.execute(
            text(
                'UPDATE "payments".beneficiary SET msisdn = :m, operator = :o, updated_at = now() '
                "WHERE household_id = :h"
            ),
            {"m": msisdn, "o": operator, "h": household_id},
        ).rowcount

    def merge_duplicate(self, *, duplicate_id: UUID, kept_id: UUID) -> int:
        return self.connection.execute(
            text(
                'UPDATE "payments".beneficiary SET merged_into = :k, updated_at = now() WHERE household_id = :d'
            ),
            {"k": kept_id, "d": duplicate_id},
        ).rowcount
