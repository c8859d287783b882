"""Cycles and vouchers as payments announced them, for the cycle summary."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, delete, func, select
from sqlalchemy.dialects.postgresql import insert

from reconciliation.db.bulk_update import update_rows
from reconciliation.db.tables import cycle, cycle_announcement, redemption_line, voucher
from shared.bulk import insert_rows
from shared.events.contracts import IssuedVoucher

AWAITING_REPORT = "awaiting_report"
#: Where a redeemed voucher counts once vendors' reports are matched (`voucher.report_outcome`); a voucher
#: no report has judged yet (or whose code reconciliation does not know) is awaiting one. `reported` is
#: apart: the lines of vendors' reports that name a voucher of the cycle, at the amounts reported.
REPORT_BUCKETS = {
    "MATCHED": "report_matched",
    "AMOUNT_MISMATCH": "report_differs",
    "DUPLICATE_SETTLEMENT": "report_differs",
    "MISSING_FROM_SETTLEMENT": "missing_from_reports",
    "CONFIRMED_UNSETTLED": AWAITING_REPORT,
}


class CycleRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, cycle_id: UUID, state: str, **facts: Any) -> None:
        values = {"state": state, **{name: value for name, value in facts.items() if value is not None}}
        self.connection.execute(
            insert(cycle)
            .values(cycle_id=cycle_id, **values)
            .on_conflict_do_update(index_elements=["cycle_id"], set_={**values, "updated_at": func.now()})
        )

    def mark_changed(self, cycle_ids: Collection[UUID]) -> None:
        """Note that these cycles' reconciliation changed; a mark already there keeps its first time, and is
        locked all the same: until this transaction ends, `take_changed` skips it rather than announce a
        summary without this change."""
        if cycle_ids:
            marks = insert(cycle_announcement).values(
                [{"cycle_id": cycle_id, "changed_at": func.now()} for cycle_id in sorted(cycle_ids)]
            )
            self.connection.execute(
                marks.on_conflict_do_update(
                    index_elements=["cycle_id"], set_={"changed_at": cycle_announcement.c.changed_at}
                )
            )

    def take_changed(self, *, older_than_seconds: float) -> list[UUID]:
        """Remove and return the marks at least this old, but those a transaction still changing its cycle holds
        (announced later); a change that waited on a mark removed here marks its cycle again."""
        due = (
            select(cycle_announcement.c.cycle_id)
            .where(
                cycle_announcement.c.changed_at
                <= func.now() - func.make_interval(0, 0, 0, 0, 0, 0, older_than_seconds)
            )
            .order_by(cycle_announcement.c.cycle_id)
            .with_for_update(skip_locked=True)
        )
        return list(
            self.connection.execute(
                delete(cycle_announcement)
                .where(cycle_announcement.c.cycle_id.in_(due.scalar_subquery()))
                .returning(cycle_announcement.c.cycle_id)
            ).scalars()
        )

    def get(self, cycle_id: UUID) -> dict[str, Any] | None:
        row = self.connection.execute(select(cycle).where(cycle.c.cycle_id == cycle_id)).mappings().first()
        return dict(row) if row else None

    def add_vouchers(self, cycle_id: UUID, items: Sequence[IssuedVoucher]) -> None:
        rows = [
            (
                v.voucher_id,
                v.payment_id,
                cycle_id,
                v.instruction_id,
                v.household_id,
                v.amount,
                "issued",
                v.expires_at,
            )
            for v in items
        ]
        insert_rows(
            self.connection,
            voucher,
            rows,
            columns=(
                "voucher_id",
                "payment_id",
                "cycle_id",
                "instruction_id",
                "household_id",
                "amount",
                "state",
                "expires_at",
            ),
            conflict=["voucher_id"],
        )

    def redeem_voucher(
        self, voucher_id: UUID, *, vendor_id: str, amount: int, at: datetime, code: str | None = None
    ) -> bool:
        """Record the redemption (and the spent code, when the event carries it); False for an unknown voucher."""
        values: dict[str, Any] = {
            "state": "redeemed",
            "vendor_id": vendor_id,
            "redeemed_amount": amount,
            "redeemed_at": at,
            "updated_at": func.now(),
        }
        if code is not None:
            values["code"] = code
        result = self.connection.execute(
            voucher.update().where(voucher.c.voucher_id == voucher_id).values(values)
        )
        return bool(result.rowcount)

    def expire_vouchers(self, voucher_ids: Sequence[UUID]) -> None:
        update_rows(
            self.connection,
            voucher,
            key=("voucher_id",),
            columns=("state",),
            rows=[(identifier, "expired") for identifier in voucher_ids],
            touch="updated_at",
        )

    def voucher_totals(self, cycle_id: UUID) -> dict[str, dict[str, int]]:
        """Vouchers issued, redeemed and expired (counts; face amounts, redeemed: amounts redeemed), then what
        vendors reported: see `REPORT_BUCKETS` (the last four add up to `redeemed`)."""
        rows = self.connection.execute(
            select(
                voucher.c.state,
                voucher.c.report_outcome,
                func.count(),
                func.coalesce(func.sum(voucher.c.amount), 0),
                func.coalesce(func.sum(voucher.c.redeemed_amount), 0),
            )
            .where(voucher.c.cycle_id == cycle_id)
            .group_by(voucher.c.state, voucher.c.report_outcome)
        ).all()
        states = ("issued", "redeemed", "expired")
        totals = {name: {"count": 0, "amount": 0} for name in (*states, "reported", *REPORT_BUCKETS.values())}
        for state, report_outcome, count, amount, redeemed in rows:
            totals["issued"]["count"] += count
            totals["issued"]["amount"] += int(amount)
            if state == "redeemed":
                for name in ("redeemed", REPORT_BUCKETS.get(report_outcome, AWAITING_REPORT)):
                    totals[name]["count"] += count
                    totals[name]["amount"] += int(redeemed)
            elif state == "expired":
                totals["expired"]["count"] += count
                totals["expired"]["amount"] += int(amount)
        count, amount = self.connection.execute(
            select(func.count(), func.coalesce(func.sum(redemption_line.c.amount), 0))
            .select_from(redemption_line.join(voucher, voucher.c.voucher_id == redemption_line.c.voucher_id))
            .where(voucher.c.cycle_id == cycle_id)
        ).one()
        totals["reported"] = {"count": count, "amount": int(amount)}
        return totals
