"""Operator CSV settlement reports read through a per-provider column mapping into canonical statements."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import BinaryIO

from reconciliation.statements.csv_text import FRENCH_THOUSANDS, csv_rows, decode, francs, label
from reconciliation.statements.lines import (
    DEFAULT_MAX_BYTES,
    XOF,
    BoundedStream,
    Direction,
    LineKind,
    LineStatus,
    Statement,
    StatementFormat,
    StatementHeader,
    StatementLine,
    TransactionSummary,
    UnreadableStatement,
    e164,
    wrong_currency,
)


class Column(StrEnum):
    LINE_NUMBER = "line_number"
    DATE = "date"
    PROVIDER_REF = "provider_ref"
    OPERATION = "operation"
    ACCOUNT = "account"
    NAME = "name"
    DEBIT = "debit"
    CREDIT = "credit"
    FEE = "fee"
    STATUS = "status"
    OUR_REF = "our_ref"
    REASON = "reason"


class Preamble(StrEnum):
    ACCOUNT = "account"
    CURRENCY = "currency"
    OPENING = "opening"
    PERIOD = "period"


class Total(StrEnum):
    DEBIT_SUM = "debit_sum"
    CREDIT_SUM = "credit_sum"
    FEE_SUM = "fee_sum"
    CLOSING = "closing"


REQUIRED_COLUMNS = frozenset(
    {Column.DATE, Column.PROVIDER_REF, Column.DEBIT, Column.CREDIT, Column.STATUS, Column.OUR_REF}
)


@dataclass(frozen=True)
class OperatorCsvMapping:
    """How one provider writes its report. Labels are compared without case, accents or extra spaces."""

    provider: str
    header_token: str
    columns: Mapping[Column, tuple[str, ...]]
    ignored_columns: tuple[str, ...]
    status_vocabulary: Mapping[str, LineStatus]
    operation_vocabulary: Mapping[str, LineKind]
    preamble: Mapping[str, Preamble]
    totals: Mapping[str, Total]
    separator: str | None = None
    date_format: str = "%d/%m/%Y"
    thousands_separators: str = FRENCH_THOUSANDS
    decimal_separator: str = ","


#: The Orange Money "Bulk Payment" transaction report (French headers, `;`, preamble and total lines).
ORANGE_MONEY_BULK = OperatorCsvMapping(
    provider="orange_money",
    header_token="N°",
    columns={
        Column.LINE_NUMBER: ("N°", "No", "Numéro"),
        Column.DATE: ("Date",),
        Column.PROVIDER_REF: ("Référence", "Reference", "ID transaction"),
        Column.OPERATION: ("Type d'opération", "Type operation", "Type"),
        Column.ACCOUNT: ("N° de Compte", "Numéro de compte", "MSISDN"),
        Column.NAME: ("Nom du bénéficiaire", "Nom"),
        Column.DEBIT: ("Débit",),
        Column.CREDIT: ("Crédit",),
        Column.FEE: ("Frais",),
        Column.STATUS: ("Statut", "Status"),
        Column.OUR_REF: ("Référence partenaire", "Référence externe"),
        Column.REASON: ("Motif", "Commentaire"),
    },
    ignored_columns=("Heure", "Service", "Solde"),
    status_vocabulary={
        "Succès": LineStatus.BOOKED,
        "Success": LineStatus.BOOKED,
        "Echec": LineStatus.FAILED,
        "Failed": LineStatus.FAILED,
        "Annulation": LineStatus.CANCELLED,
        "Annulé": LineStatus.CANCELLED,
        "En cours": LineStatus.PENDING,
    },
    operation_vocabulary={
        "Approvisionnement": LineKind.FUNDING,
        "Transfert": LineKind.PAYMENT,
        "Cash in": LineKind.PAYMENT,
        "Annulation": LineKind.REVERSAL,
        "Remboursement": LineKind.RETURN,
        "Frais": LineKind.FEE,
    },
    preamble={
        "Compte": Preamble.ACCOUNT,
        "Devise": Preamble.CURRENCY,
        "Solde initial": Preamble.OPENING,
        "Période": Preamble.PERIOD,
    },
    totals={
        "Total débits (succès)": Total.DEBIT_SUM,
        "Total crédits (succès)": Total.CREDIT_SUM,
        "Total frais": Total.FEE_SUM,
        "Solde final": Total.CLOSING,
    },
)


def parse_operator_csv(
    source: BinaryIO,
    mapping: OperatorCsvMapping = ORANGE_MONEY_BULK,
    *,
    account_id: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Statement:
    """An operator report as a statement; a non-zero fee on a row becomes its own FEE line.

    `account_id` is used when the report's preamble does not name the account. Raises
    UnreadableStatement (unknown or missing columns, an unknown status, a bad amount or date…, naming
    the line), WrongCurrency and StatementTooLarge.
    """
    stream = BoundedStream(source, max_bytes)
    rows = _rows(decode(stream.read_all()), mapping)
    return _ReportReader(mapping, rows).statement(sha256=stream.sha256, account_id=account_id)


def _rows(text: str, mapping: OperatorCsvMapping) -> list[tuple[int, list[str]]]:
    lines = text.splitlines()
    separator = mapping.separator or _sniff_separator(lines, mapping.header_token)
    return csv_rows(lines, separator)


def _sniff_separator(lines: list[str], header_token: str) -> str:
    token = label(header_token)
    for line in lines:
        for separator in (";", ","):
            if label(line.split(separator, 1)[0]) == token and separator in line:
                return separator
    raise UnreadableStatement(f"operator report: no header row starting with {header_token!r} was found")


class _ReportReader:
    """Splits the rows into preamble, header, data and totals, and turns data rows into lines."""

    def __init__(self, mapping: OperatorCsvMapping, rows: list[tuple[int, list[str]]]) -> None:
        self._mapping = mapping
        self._rows = rows
        self._statuses = {label(raw): status for raw, status in mapping.status_vocabulary.items()}
        self._operations = {label(raw): kind for raw, kind in mapping.operation_vocabulary.items()}
        self._dates: dict[str, date] = {}

    def statement(self, *, sha256: str, account_id: str | None) -> Statement:
        header_at = self._header_index()
        preamble = self._preamble(self._rows[:header_at])
        header_number, header_cells = self._rows[header_at]
        positions = self._columns(header_number, header_cells)
        totals: dict[Total, int] = {}
        lines: list[StatementLine] = []
        total_labels = {label(text): total for text, total in self._mapping.totals.items()}
        for number, cells in self._rows[header_at + 1 :]:
            if not any(cells):
                continue
            total = total_labels.get(label(cells[0]))
            if total is not None:
                totals[total] = self._required_francs(_cell(cells, 1), number)
                continue
            if len(cells) != len(header_cells):
                raise UnreadableStatement(
                    f"operator report line {number}: {len(cells)} cells where the header has {len(header_cells)}"
                )
            lines.extend(self._lines(number, {column: cells[at] for column, at in positions.items()}))
        return self._statement(preamble, totals, lines, sha256=sha256, account_id=account_id)

    def _header_index(self) -> int:
        token = label(self._mapping.header_token)
        for index, (_, cells) in enumerate(self._rows):
            if cells and label(cells[0]) == token:
                return index
        raise UnreadableStatement(
            f"operator report: no header row starting with {self._mapping.header_token!r}"
        )

    def _preamble(self, rows: list[tuple[int, list[str]]]) -> dict[Preamble, list[str]]:
        labels = {label(text): field for text, field in self._mapping.preamble.items()}
        found = {}
        for _, cells in rows:
            field = labels.get(label(cells[0])) if cells else None
            if field is not None:
                found[field] = cells[1:]
        return found

    def _columns(self, number: int, cells: list[str]) -> dict[Column, int]:
        aliases = {label(alias): column for column, names in self._mapping.columns.items() for alias in names}
        ignored = {label(name) for name in self._mapping.ignored_columns}
        positions: dict[Column, int] = {}
        unknown = []
        for at, cell in enumerate(cells):
            column = aliases.get(label(cell))
            if column is not None:
                positions[column] = at
            elif label(cell) not in ignored:
                unknown.append(cell)
        missing = sorted(REQUIRED_COLUMNS - positions.keys())
        if unknown or missing:
            raise UnreadableStatement(
                f"operator report line {number}: the columns do not fit the {self._mapping.provider} mapping"
                f" (unknown: {', '.join(unknown) or 'none'}; missing: {', '.join(missing) or 'none'})",
                details={"line": number, "unknown": unknown, "missing": missing},
            )
        return positions

    def _lines(self, number: int, row: dict[Column, str]) -> list[StatementLine]:
        debit = self._francs(row[Column.DEBIT], number)
        credit = self._francs(row[Column.CREDIT], number)
        if debit is not None and credit is None:
            direction, amount = Direction.DEBIT, debit
        elif credit is not None and debit is None:
            direction, amount = Direction.CREDIT, credit
        else:
            raise UnreadableStatement(
                f"operator report line {number}: exactly one of debit and credit must be filled"
            )
        status = self._status(row[Column.STATUS], number)
        day = self._date(row[Column.DATE], number)
        line_id = row.get(Column.LINE_NUMBER) or str(number)
        account = row.get(Column.ACCOUNT) or None
        line = StatementLine(
            source=StatementFormat.OPERATOR_CSV,
            line_id=line_id,
            booking_date=day,
            value_date=day,
            direction=direction,
            amount=amount,
            currency=XOF,
            kind=self._kind(row.get(Column.OPERATION), direction),
            status=status,
            raw_status=row[Column.STATUS],
            our_ref=row[Column.OUR_REF] or None,
            provider_ref=row[Column.PROVIDER_REF] or None,
            counterparty_msisdn=e164(account),
            counterparty_account=account,
            counterparty_name=row.get(Column.NAME) or None,
            details=row.get(Column.REASON) or None,
        )
        fee = self._francs(row.get(Column.FEE, ""), number)
        if not fee:
            return [line]
        fee_line = StatementLine(
            source=StatementFormat.OPERATOR_CSV,
            line_id=f"{line_id}-fee",
            booking_date=day,
            value_date=day,
            direction=Direction.DEBIT,
            amount=fee,
            currency=XOF,
            kind=LineKind.FEE,
            status=status,
            raw_status=row[Column.STATUS],
            our_ref=line.our_ref,
            provider_ref=line.provider_ref,
        )
        return [line, fee_line]

    def _statement(
        self,
        preamble: dict[Preamble, list[str]],
        totals: dict[Total, int],
        lines: list[StatementLine],
        *,
        sha256: str,
        account_id: str | None,
    ) -> Statement:
        currency = _cell(preamble.get(Preamble.CURRENCY, []), 0) or XOF
        if currency != XOF:
            raise wrong_currency(currency, where="operator report")
        account = _cell(preamble.get(Preamble.ACCOUNT, []), 0) or account_id
        if not account:
            raise UnreadableStatement("operator report: no account in the preamble and none given")
        opening_cells = preamble.get(Preamble.OPENING)
        if opening_cells is None or Total.CLOSING not in totals:
            raise UnreadableStatement(
                "operator report: the opening balance or the closing balance line is missing"
            )
        period = [self._date(cell.split()[0], 0) for cell in preamble.get(Preamble.PERIOD, []) if cell]
        header = StatementHeader(
            format=StatementFormat.OPERATOR_CSV,
            account_id=account,
            currency=XOF,
            statement_id=None,
            sequence_number=None,
            period_start=min(period, default=None),
            period_end=max(period, default=None),
            opening_balance=self._required_francs(_cell(opening_cells, 0), 0),
            closing_balance=totals[Total.CLOSING],
            summary=_declared(totals),
            file_sha256=sha256,
        )
        return Statement(header=header, lines=lines, counted=_counted(lines))

    def _status(self, raw: str, number: int) -> LineStatus:
        status = self._statuses.get(label(raw))
        if status is None:
            known = ", ".join(self._mapping.status_vocabulary)
            raise UnreadableStatement(
                f"operator report line {number}: unknown status {raw!r} (known: {known})"
            )
        return status

    def _kind(self, raw: str | None, direction: Direction) -> LineKind:
        kind = self._operations.get(label(raw or ""))
        if kind is not None:
            return kind
        if raw:
            return LineKind.OTHER
        return LineKind.FUNDING if direction is Direction.CREDIT else LineKind.PAYMENT

    def _date(self, text: str, number: int) -> date:
        cached = self._dates.get(text)
        if cached is None:
            try:
                cached = datetime.strptime(text, self._mapping.date_format).replace(tzinfo=UTC).date()
            except ValueError:
                raise UnreadableStatement(
                    f"operator report line {number}: {text!r} is not a date ({self._mapping.date_format})"
                ) from None
            self._dates[text] = cached
        return cached

    def _required_francs(self, text: str, number: int) -> int:
        amount = self._francs(text, number, signed=True)
        if amount is None:
            raise UnreadableStatement(f"operator report line {number}: a balance or total has no amount")
        return amount

    def _francs(self, text: str | None, number: int, *, signed: bool = False) -> int | None:
        try:
            return francs(
                text,
                thousands=self._mapping.thousands_separators,
                decimal=self._mapping.decimal_separator,
                signed=signed,
            )
        except ValueError:
            raise UnreadableStatement(
                f"operator report line {number}: {text!r} is not a whole number of francs"
            ) from None


def _cell(cells: list[str], at: int) -> str:
    return cells[at] if at < len(cells) else ""


def _declared(totals: dict[Total, int]) -> TransactionSummary | None:
    if not totals.keys() - {Total.CLOSING}:
        return None
    return TransactionSummary(
        credit_sum=totals.get(Total.CREDIT_SUM),
        debit_sum=totals.get(Total.DEBIT_SUM),
        fee_sum=totals.get(Total.FEE_SUM),
    )


def _counted(lines: list[StatementLine]) -> TransactionSummary:
    """Booked lines in the report's convention: debit and credit totals leave the fee lines out."""
    booked = [line for line in lines if line.booked]
    credits = [line.amount for line in booked if line.direction is Direction.CREDIT]
    debits = [
        line.amount for line in booked if line.direction is Direction.DEBIT and line.kind is not LineKind.FEE
    ]
    fees = [line.amount for line in booked if line.kind is LineKind.FEE]
    return TransactionSummary(
        credit_count=len(credits),
        credit_sum=sum(credits),
        debit_count=len(debits),
        debit_sum=sum(debits),
        fee_sum=sum(fees),
    )
