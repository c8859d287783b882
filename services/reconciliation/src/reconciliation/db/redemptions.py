"""Vendors' redemption reports, their lines and coverage, and the redeemed vouchers they are matched with."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, and_, or_, select
from sqlalchemy.dialects.postgresql import insert

from reconciliation.db.bulk_update import update_rows
from reconciliation.db.keys import among_many
from reconciliation.db.tables import redemption_coverage, redemption_line, redemption_report, voucher
from reconciliation.domain.redemptions import RedeemedVoucher, ReportedLine
from reconciliation.redemptions.report import Coverage, RedemptionReport
from shared.bulk import insert_rows

_LINE_COLUMNS = (
    "report_id",
    "position",
    "row_number",
    "vendor_id",
    "code",
    "amount",
    "currency",
    "redeemed_at",
    "receipt",
)


class RedemptionRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def imported(self, sha256: str) -> UUID | None:
        """The report already imported from a file with this sha256, if any."""
        found: UUID | None = self.connection.execute(
            select(redemption_report.c.report_id).where(redemption_report.c.file_sha256 == sha256)
        ).scalar()
        return found

    def claim(self, report_id: UUID, *, report: RedemptionReport, imported_by: str) -> bool:
        """Store the report (False if a file with the same sha256 got there first), its lines and coverage."""
        claimed = self.connection.execute(
            insert(redemption_report)
            .values(
                report_id=report_id,
                file_sha256=report.file_sha256,
                vendors=sorted({window.vendor_id for window in report.coverage}),
                period_start=report.period_start,
                period_end=report.period_end,
                line_count=len(report.redemptions),
                rejected=[
                    {"row": row.row, "reason": row.reason, "cells": list(row.cells)}
                    for row in report.rejected
                ],
                outcomes={},
                imported_by=imported_by,
            )
            .on_conflict_do_nothing(index_elements=["file_sha256"])
            .returning(redemption_report.c.report_id)
        ).scalar()
        if claimed is None:
            return False
        insert_rows(
            self.connection,
            redemption_line,
            [
                (
                    report_id,
                    position,
                    line.row,
                    line.vendor_id,
                    line.code,
                    line.amount,
                    "XOF",
                    line.redeemed_at,
                    line.receipt,
                )
                for position, line in enumerate(report.redemptions)
            ],
            columns=_LINE_COLUMNS,
        )
        insert_rows(
            self.connection,
            redemption_coverage,
            [(report_id, window.vendor_id, window.first_day, window.last_day) for window in report.coverage],
            columns=("report_id", "vendor_id", "first_day", "last_day"),
        )
        return True

    def set_outcomes(self, report_id: UUID, outcomes: dict[str, int]) -> None:
        self.connection.execute(
            redemption_report.update()
            .where(redemption_report.c.report_id == report_id)
            .values(outcomes=outcomes)
        )

    def lines_naming(self, codes: Collection[str]) -> list[ReportedLine]:
        """Every stored line naming one of `codes`, in the order reports were imported, then by position."""
        if not codes:
            return []
        rows = self.connection.execute(
            select(
                redemption_line.c.report_id,
                redemption_line.c.position,
                redemption_line.c.row_number,
                redemption_line.c.vendor_id,
                redemption_line.c.code,
                redemption_line.c.amount,
                redemption_line.c.redeemed_at,
                redemption_line.c.receipt,
            )
            .join(redemption_report, redemption_report.c.report_id == redemption_line.c.report_id)
            .where(redemption_line.c.code == among_many(self.connection, codes))
            .order_by(redemption_report.c.seq, redemption_line.c.position)
        ).all()
        return [ReportedLine(*row) for row in rows]

    def codes_of_report(self, report_id: UUID) -> set[str]:
        return set(
            self.connection.execute(
                select(redemption_line.c.code).where(redemption_line.c.report_id == report_id)
            ).scalars()
        )

    def coverage_of_report(self, report_id: UUID) -> list[Coverage]:
        rows = self.connection.execute(
            select(
                redemption_coverage.c.vendor_id,
                redemption_coverage.c.first_day,
                redemption_coverage.c.last_day,
            ).where(redemption_coverage.c.report_id == report_id)
        ).all()
        return [Coverage(*row) for row in rows]

    def coverage_of(self, vendor_ids: Collection[str]) -> list[Coverage]:
        if not vendor_ids:
            return []
        rows = self.connection.execute(
            select(
                redemption_coverage.c.vendor_id,
                redemption_coverage.c.first_day,
                redemption_coverage.c.last_day,
            ).where(redemption_coverage.c.vendor_id == among_many(self.connection, vendor_ids))
        ).all()
        return [Coverage(*row) for row in rows]

    def redeemed_vouchers(self, codes: Collection[str]) -> list[tuple[RedeemedVoucher, str | None]]:
        """The vouchers payments redeemed under `codes`, with the outcome their last judgement gave them."""
        if not codes:
            return []
        rows = self.connection.execute(
            select(
                voucher.c.voucher_id,
                voucher.c.code,
                voucher.c.cycle_id,
                voucher.c.instruction_id,
                voucher.c.vendor_id,
                voucher.c.redeemed_amount,
                voucher.c.redeemed_at,
                voucher.c.report_outcome,
            ).where(voucher.c.state == "redeemed", voucher.c.code == among_many(self.connection, codes))
        ).all()
        return [(RedeemedVoucher(*row[:7]), row[7]) for row in rows]

    def codes_redeemed_within(self, coverage: Iterable[Coverage]) -> set[str]:
        """Codes of the vouchers each covered vendor redeemed on the days covered (UTC days)."""
        windows = [
            and_(
                voucher.c.vendor_id == window.vendor_id,
                voucher.c.redeemed_at >= datetime.combine(window.first_day, time(), tzinfo=UTC),
                voucher.c.redeemed_at
                < datetime.combine(window.last_day + timedelta(days=1), time(), tzinfo=UTC),
            )
            for window in coverage
        ]
        if not windows:
            return set()
        return set(
            self.connection.execute(
                select(voucher.c.code).where(
                    voucher.c.state == "redeemed", voucher.c.code.is_not(None), or_(*windows)
                )
            ).scalars()
        )

    def save_line_outcomes(self, rows: Sequence[tuple[UUID, int, str, UUID | None]]) -> None:
        """(report, position, outcome, voucher named) of judged lines."""
        update_rows(
            self.connection,
            redemption_line,
            key=("report_id", "position"),
            columns=("outcome", "voucher_id"),
            rows=rows,
        )

    def save_voucher_outcomes(self, rows: Sequence[tuple[UUID, str]]) -> None:
        update_rows(
            self.connection,
            voucher,
            key=("voucher_id",),
            columns=("report_outcome",),
            rows=rows,
            touch="updated_at",
        )

    def line_outcomes(self, report_id: UUID) -> dict[str, int]:
        counts: dict[str, int] = {}
        for outcome in self.connection.execute(
            select(redemption_line.c.outcome).where(redemption_line.c.report_id == report_id)
        ).scalars():
            counts[outcome or "UNJUDGED"] = counts.get(outcome or "UNJUDGED", 0) + 1
        return dict(sorted(counts.items()))

    def get(self, report_id: UUID, *, after: int, limit: int) -> dict[str, Any] | None:
        """The report and one page of its lines (positions after `after`)."""
        found = (
            self.connection.execute(
                select(redemption_report).where(redemption_report.c.report_id == report_id)
            )
            .mappings()
            .first()
        )
        if found is None:
            return None
        report = dict(found)
        report["coverage"] = [
            {"vendor_id": window.vendor_id, "first_day": window.first_day, "last_day": window.last_day}
            for window in self.coverage_of_report(report_id)
        ]
        report["lines"] = [
            dict(row)
            for row in self.connection.execute(
                select(redemption_line)
                .where(redemption_line.c.report_id == report_id, redemption_line.c.position > after)
                .order_by(redemption_line.c.position)
                .limit(limit)
            ).mappings()
        ]
        return report
