"""The canonical vendor redemption report: its reported redemptions, the rows it could not read, its errors."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from shared.check_digits import damm_interim
from shared.errors import InvalidInput, PayloadTooLarge

#: Default ceiling on the bytes read from one redemption report.
DEFAULT_MAX_BYTES = 64 * 1024 * 1024
CODE_LENGTH = 16


class UnreadableRedemptionReport(InvalidInput):
    """The report is malformed as a whole (no header, unknown columns, totals that do not add up…)."""

    code = "unreadable_redemption_report"


class RedemptionReportTooLarge(PayloadTooLarge):
    """The report is bigger than the limit its reader was given."""

    code = "redemption_report_too_large"


def voucher_code(text: str) -> str:
    """The 16 digits of a voucher code written with or without spaces and hyphens (ValueError with the reason)."""
    digits = "".join(char for char in text if char not in " -\u00a0")
    if len(digits) != CODE_LENGTH or not digits.isascii() or not digits.isdigit():
        raise ValueError(f"{text!r} is not a voucher code ({CODE_LENGTH} digits)")
    if damm_interim(digits) != 0:
        raise ValueError(f"voucher code {text!r} is mistyped (its check digit does not match)")
    return digits


class ReportedRedemption(NamedTuple):
    """One voucher a vendor says it redeemed: `row` is its line in the file, `amount` whole XOF."""

    row: int
    vendor_id: str
    code: str
    amount: int
    redeemed_at: datetime
    receipt: str | None = None


class RejectedRow(NamedTuple):
    """A row of the report that could not be read, and why; the other rows are imported without it."""

    row: int
    reason: str
    cells: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Coverage:
    """The days a report covers for one vendor: a redemption of theirs on those days should be in it."""

    vendor_id: str
    first_day: date
    last_day: date

    def covers(self, vendor_id: str, day: date) -> bool:
        return vendor_id == self.vendor_id and self.first_day <= day <= self.last_day


@dataclass(frozen=True, slots=True)
class RedemptionReport:
    """A parsed report: what it reports, what it could not read, and the days it covers per vendor."""

    file_sha256: str
    redemptions: list[ReportedRedemption]
    rejected: list[RejectedRow]
    coverage: list[Coverage]
    period_start: date | None
    period_end: date | None
