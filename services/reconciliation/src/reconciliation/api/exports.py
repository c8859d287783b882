"""Auditor exports of a cycle report: CSV (one row per instruction) and XLSX (summary and one sheet per bucket)."""

from __future__ import annotations

import csv
import io
from dataclasses import astuple, fields
from typing import Any

from openpyxl import Workbook

from reconciliation.use_cases.report_cycle import BUCKETS, CycleReport, ReportRow

COLUMNS = tuple(field.name for field in fields(ReportRow))
_DISCREPANCY_COLUMNS = (
    "discrepancy_id",
    "category",
    "severity",
    "amount_at_stake",
    "instruction_id",
    "status",
    "suggested_action",
    "resolution",
    "resolved_by",
    "resolved_at",
    "found_at",
)


def report_csv(report: CycleReport) -> bytes:
    """Plain rows, no total lines: summing `amount` by `bucket` gives the summary's figures."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    for row in report.rows:
        writer.writerow(["" if value is None else value for value in astuple(row)])
    return buffer.getvalue().encode("utf-8")


def report_xlsx(report: CycleReport) -> bytes:
    """A `Summary` sheet (the totals of the API's summary) and one sheet per outcome bucket, typed cells."""
    book = Workbook(write_only=True)
    summary = book.create_sheet("Summary")
    summary.append(["cycle", report.summary["cycle_id"]])
    summary.append(["programme", report.summary["programme"] or ""])
    summary.append(["period", report.summary["period"] or ""])
    summary.append(["currency", "XOF"])
    summary.append([])
    summary.append(["category", "count", "amount", "settled_amount"])
    for category, tally in report.summary["total"].items():
        summary.append([category, tally["count"], tally["amount"], tally["settled_amount"]])
    summary.append([])
    summary.append(["vouchers", "count", "amount"])
    for state, tally in report.summary["vouchers"].items():
        summary.append([state, tally["count"], tally["amount"]])
    for bucket in BUCKETS:
        sheet = book.create_sheet(bucket.value)
        sheet.append(list(COLUMNS))
        for row in report.rows:
            if row.bucket == bucket.value:
                sheet.append(list(astuple(row)))
    discrepancies = book.create_sheet("discrepancies")
    discrepancies.append(list(_DISCREPANCY_COLUMNS))
    for item in report.discrepancies:
        discrepancies.append([_cell(item[name]) for name in _DISCREPANCY_COLUMNS])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "tzinfo") and value.tzinfo is not None:
        return value.replace(tzinfo=None)  # Excel has no time zones: every time here is UTC
    if isinstance(value, int | str | float):
        return value
    return str(value)
