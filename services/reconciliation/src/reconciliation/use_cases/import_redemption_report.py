"""Import a vendor's voucher redemption report: read, store and match it whole, or refuse it whole with the reason."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, BinaryIO
from uuid import UUID, uuid4

from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.redemptions.vendor_csv import parse_vendor_csv
from reconciliation.use_cases.match_redemptions import match_redemptions
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict
from shared.events.contracts import RedemptionReportReconciled


class DuplicateRedemptionReport(Conflict):
    """The same file (same sha256) was already imported, or is being imported right now."""

    code = "duplicate_redemption_report"


@dataclass(frozen=True, slots=True)
class ImportedRedemptionReport:
    report_id: UUID
    vendors: list[str]
    lines: int
    outcomes: dict[str, int]
    rejected: list[dict[str, Any]]
    discrepancies_found: int


def import_redemption_report(
    uow: ReconciliationUnitOfWork, *, source: BinaryIO, imported_by: Principal, max_bytes: int
) -> ImportedRedemptionReport:
    """Store the readable rows (the others with their reasons), match them, and record the import.

    Raises UnreadableRedemptionReport, WrongCurrency or RedemptionReportTooLarge for a file refused as a
    whole, and DuplicateRedemptionReport for a file already imported: the caller's transaction, rolled
    back, then leaves nothing of it.
    """
    report = parse_vendor_csv(source, max_bytes=max_bytes)
    earlier = uow.redemptions.imported(report.file_sha256)
    report_id = uuid4()
    if earlier is not None or not uow.redemptions.claim(
        report_id, report=report, imported_by=imported_by.name
    ):
        raise DuplicateRedemptionReport(
            f"redemption report refused: the same file (sha256 {report.file_sha256}) was already imported",
            details={"sha256": report.file_sha256, "report_id": str(earlier) if earlier else None},
        )
    codes = {line.code for line in report.redemptions}
    codes |= uow.redemptions.codes_redeemed_within(report.coverage)
    matched = match_redemptions(uow, codes=codes, report_id=report_id)
    outcomes = dict(sorted(matched.line_outcomes.items()))
    uow.redemptions.set_outcomes(report_id, outcomes)
    vendors = sorted({window.vendor_id for window in report.coverage})
    uow.publish(
        RedemptionReportReconciled(
            report_id=report_id,
            vendors=vendors,
            lines=len(report.redemptions),
            rejected_rows=len(report.rejected),
            outcomes=outcomes,
        ),
        subject=str(report_id),
    )
    record_action(
        uow,
        actor=imported_by,
        action="redemption_report.import",
        subject=f"redemption_report/{report_id}",
        after={
            "vendors": vendors,
            "sha256": report.file_sha256,
            "lines": len(report.redemptions),
            "rejected_rows": len(report.rejected),
            "outcomes": outcomes,
        },
    )
    return ImportedRedemptionReport(
        report_id=report_id,
        vendors=vendors,
        lines=len(report.redemptions),
        outcomes=outcomes,
        rejected=[
            {"row": row.row, "reason": row.reason, "cells": list(row.cells)} for row in report.rejected
        ],
        discrepancies_found=len(matched.found),
    )
