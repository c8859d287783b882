"""Vouchers redeemed in payments matched against what vendors report having redeemed (PROVIDERS.md §8.2, §8.5).

A voucher's code names it. A reported line is evidence for a voucher when the code is one payments
redeemed *and* the vendor reporting it is the vendor who redeemed it. The vocabulary is the statements'
one, with the same meaning:

| case                                                               | line outcome         | voucher outcome         | discrepancy on |
|--------------------------------------------------------------------|----------------------|-------------------------|----------------|
| the redeeming vendor reports the code once, same amount            | MATCHED              | MATCHED                 | —              |
| … with another amount (whole francs, no tolerance)                 | AMOUNT_MISMATCH      | AMOUNT_MISMATCH         | the voucher    |
| … in two lines (one report or two)                                 | DUPLICATE_SETTLEMENT | DUPLICATE_SETTLEMENT    | the voucher    |
| a code payments has not redeemed, or redeemed at another vendor    | UNKNOWN_REFERENCE    | (unchanged)             | the line       |
| a redeemed voucher in no report of its vendor covering its day     | —                    | MISSING_FROM_SETTLEMENT | the voucher    |
| … and no report of its vendor covers its day yet                   | —                    | CONFIRMED_UNSETTLED     | —              |

Matching is a pure function of what it is given, so it can be run again whenever a report or a
redemption arrives: given every voucher whose code is named, every line naming those codes (in the
order they were imported: the first line of a code is the claim, later ones repeat it) and the
coverage of their vendors, it judges them exactly as it would over everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple
from uuid import UUID

from reconciliation.domain.matching import Discrepancy, InstructionOutcome, LineOutcome, Severity
from reconciliation.redemptions.report import Coverage


@dataclass(frozen=True, slots=True)
class RedeemedVoucher:
    """A voucher payments says was redeemed: by whom, when, for how much (`amount`, whole XOF)."""

    voucher_id: UUID
    code: str
    cycle_id: UUID
    instruction_id: str
    vendor_id: str
    amount: int
    redeemed_at: datetime


class ReportedLine(NamedTuple):
    """A stored line of a vendor report: the report, its position in it and its row in the file, then what it says."""

    report_id: UUID
    position: int
    row: int
    vendor_id: str
    code: str
    amount: int
    redeemed_at: datetime
    receipt: str | None = None


class LineJudgement(NamedTuple):
    """`voucher_id` is the voucher the code names, if payments redeemed one under it (whoever the vendor)."""

    line: ReportedLine
    outcome: LineOutcome | InstructionOutcome
    voucher_id: UUID | None
    discrepancy: Discrepancy | None


class VoucherJudgement(NamedTuple):
    """`evidence` is the line that explains the discrepancy (the mismatching or the repeated one), if any."""

    voucher: RedeemedVoucher
    outcome: InstructionOutcome
    discrepancy: Discrepancy | None
    evidence: ReportedLine | None = None


@dataclass(frozen=True, slots=True)
class RedemptionReconciliation:
    lines: list[LineJudgement]
    vouchers: list[VoucherJudgement]


def reconcile_redemptions(
    vouchers: Iterable[RedeemedVoucher], lines: Iterable[ReportedLine], coverage: Iterable[Coverage]
) -> RedemptionReconciliation:
    """Judge every line (given in import order) and every voucher, in time linear in their numbers."""
    by_code = {voucher.code: voucher for voucher in vouchers}
    claims: dict[UUID, list[ReportedLine]] = {}
    judged_lines = []
    for line in lines:
        voucher = by_code.get(line.code)
        if voucher is None:
            judged_lines.append(LineJudgement(line, LineOutcome.UNKNOWN_REFERENCE, None, _not_redeemed(line)))
            continue
        if voucher.vendor_id != line.vendor_id:
            judged_lines.append(
                LineJudgement(
                    line, LineOutcome.UNKNOWN_REFERENCE, voucher.voucher_id, _other_vendor(line, voucher)
                )
            )
            continue
        earlier = claims.setdefault(voucher.voucher_id, [])
        earlier.append(line)
        if len(earlier) > 1:
            outcome: LineOutcome | InstructionOutcome = InstructionOutcome.DUPLICATE_SETTLEMENT
        elif line.amount != voucher.amount:
            outcome = InstructionOutcome.AMOUNT_MISMATCH
        else:
            outcome = LineOutcome.MATCHED
        judged_lines.append(LineJudgement(line, outcome, voucher.voucher_id, None))
    windows = list(coverage)
    judged_vouchers = [
        _judge(voucher, claims.get(voucher.voucher_id, []), windows) for voucher in by_code.values()
    ]
    return RedemptionReconciliation(lines=judged_lines, vouchers=judged_vouchers)


def _judge(voucher: RedeemedVoucher, claims: list[ReportedLine], windows: list[Coverage]) -> VoucherJudgement:
    if len(claims) > 1:
        extra = claims[1:]
        where = ", ".join(f"row {line.row} of report {line.report_id}" for line in claims)
        return VoucherJudgement(
            voucher,
            InstructionOutcome.DUPLICATE_SETTLEMENT,
            Discrepancy(
                InstructionOutcome.DUPLICATE_SETTLEMENT.value,
                Severity.CRITICAL,
                sum(line.amount for line in extra),
                f"Vendor {voucher.vendor_id} reports voucher {_shown(voucher.code)} {len(claims)} times ({where})"
                " although it was redeemed once: reimburse it once and ask the vendor to correct its report.",
            ),
            extra[-1],
        )
    if claims:
        claim = claims[0]
        if claim.amount != voucher.amount:
            return VoucherJudgement(
                voucher,
                InstructionOutcome.AMOUNT_MISMATCH,
                Discrepancy(
                    InstructionOutcome.AMOUNT_MISMATCH.value,
                    Severity.CRITICAL,
                    abs(claim.amount - voucher.amount),
                    f"Vendor {voucher.vendor_id} reports {claim.amount} XOF for voucher {_shown(voucher.code)},"
                    f" redeemed for {voucher.amount} XOF: reimburse the amount redeemed and ask the vendor"
                    " to correct its report.",
                ),
                claim,
            )
        return VoucherJudgement(voucher, InstructionOutcome.MATCHED, None)
    day = voucher.redeemed_at.date()
    covering = [window for window in windows if window.covers(voucher.vendor_id, day)]
    if not covering:
        return VoucherJudgement(voucher, InstructionOutcome.CONFIRMED_UNSETTLED, None)
    return VoucherJudgement(
        voucher,
        InstructionOutcome.MISSING_FROM_SETTLEMENT,
        Discrepancy(
            InstructionOutcome.MISSING_FROM_SETTLEMENT.value,
            Severity.WARNING,
            voucher.amount,
            f"Voucher {_shown(voucher.code)} was redeemed at vendor {voucher.vendor_id} on {day.isoformat()}"
            " but the vendor's report covering that day does not list it: ask the vendor whether it served"
            " the household (if not, its vendor account may be misused) and to complete its report.",
        ),
    )


def _not_redeemed(line: ReportedLine) -> Discrepancy:
    return Discrepancy(
        LineOutcome.UNKNOWN_REFERENCE.value,
        Severity.CRITICAL,
        line.amount,
        f"Vendor {line.vendor_id} reports voucher {_shown(line.code)} ({line.amount} XOF) that payments has"
        " not recorded as redeemed (unknown, still open, expired or cancelled): do not reimburse it until"
        " the vendor shows the redemption was made through the system.",
    )


def _other_vendor(line: ReportedLine, voucher: RedeemedVoucher) -> Discrepancy:
    return Discrepancy(
        LineOutcome.UNKNOWN_REFERENCE.value,
        Severity.CRITICAL,
        line.amount,
        f"Vendor {line.vendor_id} reports voucher {_shown(line.code)}, which payments records as redeemed by"
        f" vendor {voucher.vendor_id} on {voucher.redeemed_at.date().isoformat()}: reimburse only the vendor"
        " who redeemed it, and ask the other how it came to claim it.",
    )


def _shown(code: str) -> str:
    """A code as printed on the voucher: groups of four."""
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))
