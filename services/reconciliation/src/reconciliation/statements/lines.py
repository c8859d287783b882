"""The canonical statement: header, settlement lines and errors shared by every statement format (§8.5)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import BinaryIO, NamedTuple, Protocol

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat

from shared.errors import InvalidInput, PayloadTooLarge

XOF = "XOF"
MALI_COUNTRY_CODE = 223
#: Default ceiling on the bytes read from one statement file.
DEFAULT_MAX_BYTES = 512 * 1024 * 1024


class StatementTooLarge(PayloadTooLarge):
    """The statement file is bigger than the limit its reader was given."""

    code = "statement_too_large"


class UnreadableStatement(InvalidInput):
    """The statement file is malformed, truncated or not in the format announced."""

    code = "unreadable_statement"


class WrongCurrency(InvalidInput):
    """The statement is not in XOF: its amounts cannot be read as whole francs."""

    code = "wrong_currency"


class StatementFormat(StrEnum):
    CAMT053 = "camt.053"
    MT940 = "mt940"
    OPERATOR_CSV = "operator_csv"


class Direction(StrEnum):
    DEBIT = "DEBIT"
    CREDIT = "CREDIT"


class LineKind(StrEnum):
    PAYMENT = "PAYMENT"
    RETURN = "RETURN"
    REVERSAL = "REVERSAL"
    FEE = "FEE"
    FUNDING = "FUNDING"
    OTHER = "OTHER"


class LineStatus(StrEnum):
    """Whether the line moved money: only BOOKED lines count in balances and as settlement."""

    BOOKED = "BOOKED"
    PENDING = "PENDING"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True, slots=True)
class TransactionSummary:
    """Totals a statement declares (or that its parser counted), in the format's own convention.

    camt.053 counts entries (one batch-booked entry is one, however many lines it holds); MT940 and
    operator reports count lines. `fee_sum` is only declared by operator reports, whose debit total
    leaves the fee column out.
    """

    credit_count: int | None = None
    credit_sum: int | None = None
    debit_count: int | None = None
    debit_sum: int | None = None
    entry_count: int | None = None
    fee_sum: int | None = None


@dataclass(frozen=True, slots=True)
class StatementHeader:
    """What a statement says about itself. Balances are signed whole francs (negative = debit balance)."""

    format: StatementFormat
    account_id: str
    currency: str
    statement_id: str | None
    sequence_number: int | None
    period_start: date | None
    period_end: date | None
    opening_balance: int
    closing_balance: int
    summary: TransactionSummary | None
    file_sha256: str


class StatementLine(NamedTuple):
    """One movement (or failed attempt) on the account, whatever the format it came from.

    A named tuple rather than a dataclass: a large statement builds a million of them, and a tuple is
    built several times faster and is as immutable.
    """

    source: StatementFormat
    line_id: str
    booking_date: date
    value_date: date
    direction: Direction
    amount: int
    currency: str
    kind: LineKind
    status: LineStatus
    raw_status: str
    our_ref: str | None = None
    provider_ref: str | None = None
    counterparty_msisdn: str | None = None
    counterparty_account: str | None = None
    counterparty_name: str | None = None
    return_reason: str | None = None
    details: str | None = None

    @property
    def booked(self) -> bool:
        return self.status is LineStatus.BOOKED

    @property
    def signed_amount(self) -> int:
        """The effect on the account balance: credits add, debits subtract."""
        return self.amount if self.direction is Direction.CREDIT else -self.amount


@dataclass(frozen=True, slots=True)
class Statement:
    """A parsed statement: its header, its lines, and the totals its parser counted for the summary check."""

    header: StatementHeader
    lines: list[StatementLine]
    counted: TransactionSummary


class StatementSink(Protocol):
    """Where a streaming parser delivers each statement of a file: its header, its lines one by one, its totals.

    `begin` comes once per statement before its lines (the header's `file_sha256` is not known yet: it
    is ""); `end` comes after its last line with the totals the parser counted for the summary check.
    """

    def begin(self, header: StatementHeader) -> None: ...

    def line(self, line: StatementLine) -> None: ...

    def end(self, header: StatementHeader, counted: TransactionSummary) -> None: ...


class StatementCollector:
    """A `StatementSink` that keeps every statement whole, lines and all (small files and tests)."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self._lines: list[StatementLine] = []

    def begin(self, header: StatementHeader) -> None:
        self._lines = []

    def line(self, line: StatementLine) -> None:
        self._lines.append(line)

    def end(self, header: StatementHeader, counted: TransactionSummary) -> None:
        self.statements.append(Statement(header=header, lines=self._lines, counted=counted))
        self._lines = []


def feed(statement: Statement, sink: StatementSink) -> None:
    """Deliver an already parsed statement to `sink` as a streaming parser would."""
    sink.begin(statement.header)
    for line in statement.lines:
        sink.line(line)
    sink.end(statement.header, statement.counted)


class BoundedStream:
    """A binary reader that refuses to read past `max_bytes` and hashes what it reads (sha256)."""

    def __init__(self, raw: BinaryIO, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self._raw = raw
        self._max_bytes = max_bytes
        self._hash = hashlib.sha256()
        self.bytes_read = 0

    def read(self, size: int = -1) -> bytes:
        allowance = self._max_bytes + 1 - self.bytes_read
        chunk = self._raw.read(allowance if size < 0 else min(size, allowance))
        self.bytes_read += len(chunk)
        if self.bytes_read > self._max_bytes:
            raise StatementTooLarge(
                f"statement file is larger than the limit of {self._max_bytes} bytes",
                details={"max_bytes": self._max_bytes},
            )
        self._hash.update(chunk)
        return chunk

    def read_all(self) -> bytes:
        return b"".join(iter(lambda: self.read(1 << 20), b""))

    @property
    def sha256(self) -> str:
        return self._hash.hexdigest()


def whole_francs(value: Decimal, *, where: str) -> int:
    """XOF has no minor unit: `30000` or `30000.00` is 30000 francs; `30000.50` is refused."""
    if value != value.to_integral_value():
        raise UnreadableStatement(f"{where}: amount {value} has a fraction of a franc; XOF amounts are whole")
    return int(value)


def wrong_currency(currency: str, *, where: str) -> WrongCurrency:
    """The error for a currency that is not XOF (callers compare first, so the message is built only then)."""
    return WrongCurrency(
        f"{where}: currency {currency!r} is not XOF; only XOF statements can be reconciled",
        details={"currency": currency},
    )


_MALI_SHAPES = re.compile(r"^(?:\+223|00223|223)?([0-9]{8})$")
_NUMBER_PUNCTUATION = re.compile(r"[\s.\-()]")


def e164(raw: str | None) -> str | None:
    """A Malian mobile number in E.164 (`+22376550041`) from any usual shape, or None if it is not one."""
    if raw is None:
        return None
    text = _NUMBER_PUNCTUATION.sub("", raw)
    if not text:
        return None
    shaped = _MALI_SHAPES.match(text)
    if shaped:
        number = PhoneNumber(country_code=MALI_COUNTRY_CODE, national_number=int(shaped.group(1)))
    else:
        try:
            number = phonenumbers.parse(text, "ML")
        except phonenumbers.NumberParseException:
            return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)
