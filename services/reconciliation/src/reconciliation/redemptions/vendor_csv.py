"""Vendors' redemption reports as CSV, read through a column mapping (French headers, `;`, preamble and totals).

A report looks like this (the labels are compared without case, accents or extra spaces; `,` works too):

    Rapport de remboursement des bons
    Commerçant;BOUTIQUE-KATI-01
    Période;01/04/2026;30/04/2026
    Devise;XOF
    Commerçant;Code du bon;Montant;Date;Heure;N° de reçu
    BOUTIQUE-KATI-01;4821-0937-5521-8064;30 000;02/04/2026;10:15;R-0001
    Nombre de bons;1
    Total;30 000

Lines before the header row (the first row naming the code and amount columns) are the preamble: the
vendor, the period, the currency, and anything else (a title) which is ignored. Rows after it whose
first cell is a total label are totals, checked against the rows. The vendor column may be left out
when the preamble names the vendor. Times without an offset are UTC (Mali keeps UTC all year).

The whole file is refused (UnreadableRedemptionReport, RedemptionReportTooLarge, WrongCurrency) when it
cannot be trusted as a whole: no header, a column the mapping does not know, a required column missing,
a currency other than XOF, totals that do not add up, or not a single readable row. A row that cannot be
read (a mistyped code, an amount that is not whole francs, a bad date, a vendor other than the
preamble's…) is rejected with its reason, and the rest is imported.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import BinaryIO

from reconciliation.redemptions.report import (
    DEFAULT_MAX_BYTES,
    Coverage,
    RedemptionReport,
    RedemptionReportTooLarge,
    RejectedRow,
    ReportedRedemption,
    UnreadableRedemptionReport,
    voucher_code,
)
from reconciliation.statements.csv_text import FRENCH_THOUSANDS, csv_rows, decode, francs, label
from reconciliation.statements.lines import XOF, wrong_currency


class Column(StrEnum):
    VENDOR = "vendor"
    CODE = "code"
    AMOUNT = "amount"
    DATE = "date"
    TIME = "time"
    RECEIPT = "receipt"


class Preamble(StrEnum):
    VENDOR = "vendor"
    PERIOD = "period"
    CURRENCY = "currency"


class Total(StrEnum):
    COUNT = "count"
    AMOUNT = "amount"


#: A report names its code, amount and date columns; the vendor column or a vendor in the preamble.
REQUIRED_COLUMNS = frozenset({Column.CODE, Column.AMOUNT, Column.DATE})
_SEPARATORS = (";", ",", "\t")


@dataclass(frozen=True)
class RedemptionCsvMapping:
    """How vendors write their reports. Labels are compared without case, accents or extra spaces."""

    name: str
    columns: Mapping[Column, tuple[str, ...]]
    ignored_columns: tuple[str, ...]
    preamble: Mapping[str, Preamble]
    totals: Mapping[str, Total]
    separator: str | None = None
    date_formats: tuple[str, ...] = ("%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d")
    time_formats: tuple[str, ...] = ("%H:%M:%S", "%H:%M", "%Hh%M")
    thousands_separators: str = FRENCH_THOUSANDS
    decimal_separator: str = ","


#: The report the programme asks its vendors (and its vendor-management desk) to send.
VENDOR_REDEMPTIONS = RedemptionCsvMapping(
    name="vendor redemption report",
    columns={
        Column.VENDOR: ("Commerçant", "Code commerçant", "ID commerçant", "Vendeur", "Vendor", "Vendor id"),
        Column.CODE: ("Code du bon", "Code bon", "Code", "N° du bon", "Voucher code", "Voucher"),
        Column.AMOUNT: ("Montant", "Montant remboursé", "Montant (XOF)", "Valeur", "Amount"),
        Column.DATE: ("Date", "Date de remboursement", "Date d'utilisation", "Redeemed at", "Date redeemed"),
        Column.TIME: ("Heure", "Time"),
        Column.RECEIPT: ("N° de reçu", "Numéro de reçu", "Reçu", "Référence commerçant", "Receipt"),
    },
    ignored_columns=(
        "N°",
        "No",
        "Nom du bénéficiaire",
        "Bénéficiaire",
        "Programme",
        "Observation",
        "Commentaire",
    ),
    preamble={
        "Commerçant": Preamble.VENDOR,
        "Code commerçant": Preamble.VENDOR,
        "Vendor": Preamble.VENDOR,
        "Période": Preamble.PERIOD,
        "Period": Preamble.PERIOD,
        "Devise": Preamble.CURRENCY,
        "Currency": Preamble.CURRENCY,
    },
    totals={
        "Nombre de bons": Total.COUNT,
        "Nombre": Total.COUNT,
        "Count": Total.COUNT,
        "Total": Total.AMOUNT,
        "Montant total": Total.AMOUNT,
        "Total montant": Total.AMOUNT,
    },
)


def parse_vendor_csv(
    source: BinaryIO,
    mapping: RedemptionCsvMapping = VENDOR_REDEMPTIONS,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> RedemptionReport:
    """A vendor report, its unreadable rows set aside with their reasons (see the module for what refuses it)."""
    data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise RedemptionReportTooLarge(
            f"the redemption report is larger than the limit of {max_bytes} bytes",
            details={"max_bytes": max_bytes},
        )
    sha256 = hashlib.sha256(data).hexdigest()
    lines = decode(data).splitlines()
    return _Reader(mapping, lines).report(sha256)


class _Reader:
    """Splits the rows into preamble, header, data and totals, and reads each data row or rejects it."""

    def __init__(self, mapping: RedemptionCsvMapping, lines: list[str]) -> None:
        self._mapping = mapping
        self._aliases = {label(alias): column for column, names in mapping.columns.items() for alias in names}
        self._ignored = {label(name) for name in mapping.ignored_columns}
        self._totals = {label(text): total for text, total in mapping.totals.items()}
        separator, header_at = self._header(lines)
        self._rows = csv_rows(lines, separator)
        self._header_at = header_at

    def _header(self, lines: list[str]) -> tuple[str, int]:
        separators = (self._mapping.separator,) if self._mapping.separator else _SEPARATORS
        for index, line in enumerate(lines):
            for separator in separators:
                columns = {self._aliases.get(label(cell)) for cell in line.split(separator)}
                if {Column.CODE, Column.AMOUNT} <= columns:
                    return separator, index
        raise UnreadableRedemptionReport(
            f"{self._mapping.name}: no header row naming the voucher code and the amount columns was found",
            details={
                "expected": {column.value: list(self._mapping.columns[column]) for column in REQUIRED_COLUMNS}
            },
        )

    def report(self, sha256: str) -> RedemptionReport:
        preamble = self._preamble(self._rows[: self._header_at])
        currency = _first(preamble.get(Preamble.CURRENCY)) or XOF
        if label(currency) != label(XOF):
            raise wrong_currency(currency, where=self._mapping.name)
        header_number, header_cells = self._rows[self._header_at]
        positions = self._columns(header_number, header_cells)
        vendor = _first(preamble.get(Preamble.VENDOR))
        if Column.VENDOR not in positions and not vendor:
            raise UnreadableRedemptionReport(
                f"{self._mapping.name}: no vendor column and no vendor in the preamble",
                details={"line": header_number, "missing": [Column.VENDOR.value]},
            )
        period = self._period(preamble.get(Preamble.PERIOD, []))
        redemptions: list[ReportedRedemption] = []
        rejected: list[RejectedRow] = []
        declared: dict[Total, tuple[int, str]] = {}
        for number, cells in self._rows[self._header_at + 1 :]:
            if not any(cells):
                continue
            total = self._totals.get(label(cells[0]))
            if total is not None:
                declared[total] = (number, self._total_cell(cells, positions))
                continue
            try:
                redemptions.append(self._redemption(number, cells, header_cells, positions, vendor, period))
            except ValueError as error:
                rejected.append(RejectedRow(number, str(error), tuple(cells)))
        if rejected and not redemptions:
            raise UnreadableRedemptionReport(
                f"{self._mapping.name}: not a single row could be read",
                details={"rows": [{"row": row.row, "reason": row.reason} for row in rejected[:20]]},
            )
        self._check_totals(declared, redemptions, rejected)
        return RedemptionReport(
            file_sha256=sha256,
            redemptions=redemptions,
            rejected=rejected,
            coverage=_coverage(redemptions, vendor, period),
            period_start=period[0] if period else None,
            period_end=period[1] if period else None,
        )

    def _preamble(self, rows: list[tuple[int, list[str]]]) -> dict[Preamble, list[str]]:
        labels = {label(text): field for text, field in self._mapping.preamble.items()}
        found: dict[Preamble, list[str]] = {}
        for _, cells in rows:
            field = labels.get(label(cells[0])) if cells else None
            if field is not None:
                found[field] = [cell for cell in cells[1:] if cell]
        return found

    def _columns(self, number: int, cells: list[str]) -> dict[Column, int]:
        positions: dict[Column, int] = {}
        unknown = []
        for at, cell in enumerate(cells):
            column = self._aliases.get(label(cell))
            if column is not None and column not in positions:
                positions[column] = at
            elif label(cell) not in self._ignored and cell:
                unknown.append(cell)
        missing = sorted(REQUIRED_COLUMNS - positions.keys())
        if unknown or missing:
            raise UnreadableRedemptionReport(
                f"{self._mapping.name} line {number}: the columns do not fit the mapping"
                f" (unknown: {', '.join(unknown) or 'none'}; missing: {', '.join(missing) or 'none'})",
                details={"line": number, "unknown": unknown, "missing": missing},
            )
        return positions

    def _period(self, cells: list[str]) -> tuple[date, date] | None:
        days = []
        for cell in cells:
            for token in cell.replace("–", " ").split():
                day = self._day(token)
                if day is not None:
                    days.append(day)
        if cells and not days:
            raise UnreadableRedemptionReport(
                f"{self._mapping.name}: the period {' '.join(cells)!r} names no date",
                details={"period": cells},
            )
        return (min(days), max(days)) if days else None

    def _redemption(
        self,
        number: int,
        cells: list[str],
        header: list[str],
        positions: dict[Column, int],
        vendor: str | None,
        period: tuple[date, date] | None,
    ) -> ReportedRedemption:
        if len(cells) != len(header) and any(cells[len(header) :]):
            raise ValueError(f"{len(cells)} cells where the header has {len(header)}")
        row = {column: cells[at] if at < len(cells) else "" for column, at in positions.items()}
        row_vendor = row.get(Column.VENDOR) or vendor
        if not row_vendor:
            raise ValueError("no vendor id")
        if vendor and row_vendor != vendor:
            raise ValueError(f"vendor {row_vendor!r} in a report of vendor {vendor!r}")
        code = voucher_code(row[Column.CODE])
        amount = francs(
            row[Column.AMOUNT],
            thousands=self._mapping.thousands_separators,
            decimal=self._mapping.decimal_separator,
        )
        if not amount:
            raise ValueError(f"amount {row[Column.AMOUNT]!r} is not a positive number of francs")
        redeemed_at = self._moment(row[Column.DATE], row.get(Column.TIME, ""))
        if period and not period[0] <= redeemed_at.date() <= period[1]:
            raise ValueError(
                f"redeemed on {redeemed_at.date().isoformat()}, outside the report's period"
                f" {period[0].isoformat()}–{period[1].isoformat()}"
            )
        return ReportedRedemption(
            row=number,
            vendor_id=row_vendor,
            code=code,
            amount=amount,
            redeemed_at=redeemed_at,
            receipt=row.get(Column.RECEIPT) or None,
        )

    def _moment(self, day_text: str, time_text: str) -> datetime:
        """A date, a date and a time (in one cell or two), or an ISO 8601 moment; UTC when no offset is given."""
        text = f"{day_text} {time_text}".strip()
        if not day_text:
            raise ValueError("no redemption date")
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            moment = self._french_moment(text)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def _french_moment(self, text: str) -> datetime:
        day_part, _, time_part = text.partition(" ")
        day = self._day(day_part)
        if day is None:
            raise ValueError(f"{day_part!r} is not a date ({' or '.join(self._mapping.date_formats)})")
        time_part = time_part.strip()
        if not time_part:
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        for time_format in self._mapping.time_formats:
            try:
                clock = datetime.strptime(time_part, time_format).replace(tzinfo=UTC).timetz()
            except ValueError:
                continue
            return datetime.combine(day, clock)
        raise ValueError(f"{time_part!r} is not a time ({' or '.join(self._mapping.time_formats)})")

    def _day(self, text: str) -> date | None:
        for date_format in self._mapping.date_formats:
            try:
                return datetime.strptime(text, date_format).replace(tzinfo=UTC).date()
            except ValueError:
                continue
        return None

    def _total_cell(self, cells: list[str], positions: dict[Column, int]) -> str:
        """A total's value: under the amount column if something is there, else the first cell after its label."""
        at = positions[Column.AMOUNT]
        if 0 < at < len(cells) and cells[at]:
            return cells[at]
        return next((cell for cell in cells[1:] if cell), "")

    def _check_totals(
        self,
        declared: dict[Total, tuple[int, str]],
        redemptions: list[ReportedRedemption],
        rejected: list[RejectedRow],
    ) -> None:
        """Declared totals against the rows: the count over every row, the amount over the rows read (if all were)."""
        problems = []
        counted = {
            Total.COUNT: len(redemptions) + len(rejected),
            Total.AMOUNT: sum(r.amount for r in redemptions),
        }
        for total, (number, text) in sorted(declared.items()):
            try:
                value = francs(
                    text,
                    thousands=self._mapping.thousands_separators,
                    decimal=self._mapping.decimal_separator,
                )
            except ValueError:
                value = None
            if value is None:
                raise UnreadableRedemptionReport(
                    f"{self._mapping.name} line {number}: the {total.value} total {text!r} is not a whole number",
                    details={"line": number},
                )
            if total is Total.AMOUNT and rejected:
                continue  # the rejected rows' amounts are not known: the count still checks the file is whole
            if value != counted[total]:
                problems.append(
                    f"line {number} declares a {total.value} of {value}, the rows add up to {counted[total]}"
                )
        if problems:
            raise UnreadableRedemptionReport(
                f"{self._mapping.name}: the totals do not match the rows ({'; '.join(problems)})",
                details={"problems": problems},
            )


def _first(cells: list[str] | None) -> str | None:
    return cells[0] if cells else None


def _coverage(
    redemptions: list[ReportedRedemption], vendor: str | None, period: tuple[date, date] | None
) -> list[Coverage]:
    """The days covered per vendor: the declared period (for the preamble's vendor, or every vendor of the
    report), else the first to the last day each vendor reports."""
    days: dict[str, list[date]] = {}
    for redemption in redemptions:
        days.setdefault(redemption.vendor_id, []).append(redemption.redeemed_at.date())
    if vendor:
        days.setdefault(vendor, [])
    covered = []
    for vendor_id, seen in sorted(days.items()):
        if period is not None:
            covered.append(Coverage(vendor_id, period[0], period[1]))
        elif seen:
            covered.append(Coverage(vendor_id, min(seen), max(seen)))
    return covered
