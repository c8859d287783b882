"""SWIFT MT940 statements read with the `mt-940` package into canonical statements."""

from __future__ import annotations

import re
from datetime import date
from typing import Any, BinaryIO

import mt940

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
    whole_francs,
    wrong_currency,
)

_NO_REFERENCE = "NONREF"
_FEE_TYPES = frozenset({"NCHG", "NCOM"})
_RETURN_TYPE = "NRTI"
#: `/CODE/value` fields of `:86:` (`/EREF/PMT25Q1-000106 /BENEF/RAMATA BALLO /RTRN/AC04 …`).
_DETAIL_FIELD = re.compile(r"(?:^|\s)/([A-Z]{4,5})/")
_MESSAGE_START = re.compile(r"^:20:", re.MULTILINE)
_STATEMENT_LINE_DATES = re.compile(r"^:61:(\d{2})(\d{2})(\d{2})(?:(\d{2})(\d{2}))?", re.MULTILINE)
_DETAIL_WIDTH = 65


def parse_mt940(source: BinaryIO, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Statement]:
    """Every message (`:20:` … `-`) of an MT940 file as a statement.

    Raises UnreadableStatement naming the file line of a tag it cannot read (a broken `:61:`…),
    WrongCurrency and StatementTooLarge.
    """
    stream = BoundedStream(source, max_bytes)
    text = _decode(stream.read_all()).replace("\r\n", "\n").replace("\r", "\n")
    starts = [match.start() for match in _MESSAGE_START.finditer(text)]
    if not starts:
        raise UnreadableStatement("not an MT940 statement: no :20: tag")
    ends = [*starts[1:], len(text)]
    return [
        _statement(text[start:end], first_line=text.count("\n", 0, start) + 1, sha256=stream.sha256)
        for start, end in zip(starts, ends, strict=True)
    ]


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _statement(message: str, *, first_line: int, sha256: str) -> Statement:
    _check_statement_line_dates(message, first_line)
    transactions = mt940.models.Transactions()
    try:
        transactions.parse(message)
    except (RuntimeError, ValueError) as error:
        raise _unreadable(error, message, first_line) from None
    data: dict[str, Any] = transactions.data
    account = data.get("account_identification")
    if not account:
        raise UnreadableStatement(f"MT940 line {first_line}: the message has no :25: account")
    opening = data.get("final_opening_balance") or data.get("intermediate_opening_balance")
    closing = data.get("final_closing_balance") or data.get("intermediate_closing_balance")
    if opening is None or closing is None:
        raise UnreadableStatement(f"MT940 line {first_line}: the message lacks :60F:/:60M: or :62F:/:62M:")
    lines = [
        _line(number, transaction.data, first_line) for number, transaction in enumerate(transactions, 1)
    ]
    header = StatementHeader(
        format=StatementFormat.MT940,
        account_id=account,
        currency=XOF,
        statement_id=data.get("transaction_reference"),
        sequence_number=_statement_number(data.get("statement_number")),
        period_start=_plain_date(opening.date),
        period_end=_plain_date(closing.date),
        opening_balance=_balance(opening, first_line),
        closing_balance=_balance(closing, first_line),
        summary=None,
        file_sha256=sha256,
    )
    return Statement(header=header, lines=lines, counted=_counted(lines))


def _unreadable(error: Exception, message: str, first_line: int) -> UnreadableStatement:
    """Name the tag and the file line that mt940 could not read."""
    tag, value = (error.args[1], error.args[2]) if len(error.args) >= 3 else (None, None)
    if tag is None or not isinstance(value, str):
        return UnreadableStatement(f"MT940 message at line {first_line} cannot be read: {error}")
    first_value_line = value.split("\n", 1)[0]
    offset = message.find(f":{tag.id}:{first_value_line}")
    line = first_line + message.count("\n", 0, max(offset, 0))
    return UnreadableStatement(
        f"MT940 line {line}: cannot read :{tag.id}: {first_value_line!r}",
        details={"line": line, "tag": tag.id},
    )


def _check_statement_line_dates(message: str, first_line: int) -> None:
    """mt940 reports an impossible `:61:` date without saying where; say which file line holds it."""
    for match in _STATEMENT_LINE_DATES.finditer(message):
        year, month, day, entry_month, entry_day = match.groups()
        try:
            date(2000 + int(year), int(month), int(day))
            if entry_month is not None:
                date(2000 + int(year), int(entry_month), int(entry_day))
        except ValueError:
            line = first_line + message.count("\n", 0, match.start())
            raise UnreadableStatement(
                f"MT940 line {line}: :61: starts with an impossible date ({match.group(0)[4:]!r})",
                details={"line": line, "tag": "61"},
            ) from None


def _line(number: int, data: dict[str, Any], first_line: int) -> StatementLine:
    mark: str = data["status"]
    where = f"MT940 message at line {first_line}, :61: number {number}"
    currency = data.get("currency") or ""
    if currency != XOF:
        raise wrong_currency(currency, where=where)
    amount = whole_francs(abs(data["amount"].amount), where=where)
    direction = Direction.CREDIT if mark in ("C", "RD") else Direction.DEBIT
    text = _unwrap(data.get("transaction_details") or "")
    fields = _detail_fields(text)
    customer_reference = (data.get("customer_reference") or "").strip()
    value_date = _plain_date(data["date"])
    return StatementLine(
        source=StatementFormat.MT940,
        line_id=str(number),
        booking_date=_plain_date(data.get("entry_date") or value_date),
        value_date=value_date,
        direction=direction,
        amount=amount,
        currency=XOF,
        kind=_kind(mark, data.get("id"), fields, direction),
        status=LineStatus.BOOKED,
        raw_status=mark,
        our_ref=customer_reference if customer_reference not in ("", _NO_REFERENCE) else fields.get("EREF"),
        provider_ref=data.get("bank_reference") or None,
        counterparty_name=fields.get("BENEF" if direction is Direction.DEBIT else "ORDP"),
        return_reason=fields["RTRN"].split()[0] if fields.get("RTRN") else None,
        details=text or None,
    )


def _kind(mark: str, transaction_type: str | None, fields: dict[str, str], direction: Direction) -> LineKind:
    if transaction_type in _FEE_TYPES:
        return LineKind.FEE
    if transaction_type == _RETURN_TYPE or "RTRN" in fields:
        return LineKind.RETURN
    if mark.startswith("R"):
        return LineKind.REVERSAL
    return LineKind.FUNDING if direction is Direction.CREDIT else LineKind.PAYMENT


def _unwrap(details: str) -> str:
    """Undo SWIFT's 65-character wrapping of `:86:`: a full line was cut mid-text, a shorter one lost a space."""
    segments = details.split("\n")
    pieces = [segment if len(segment) >= _DETAIL_WIDTH else f"{segment} " for segment in segments[:-1]]
    return ("".join(pieces) + segments[-1]).strip()


def _detail_fields(text: str) -> dict[str, str]:
    matches = list(_DETAIL_FIELD.finditer(text))
    ends = [match.start() for match in matches[1:]] + [len(text)]
    return {
        match.group(1): text[match.end() : end].strip() for match, end in zip(matches, ends, strict=False)
    }


def _balance(balance: Any, first_line: int) -> int:
    where = f"MT940 message at line {first_line}, balance"
    currency = balance.amount.currency or ""
    if currency != XOF:
        raise wrong_currency(currency, where=where)
    return int(whole_francs(balance.amount.amount, where=where))


def _statement_number(text: str | None) -> int | None:
    return int(text) if text and text.isdigit() else None


def _plain_date(value: date) -> date:
    return date(value.year, value.month, value.day)


def _counted(lines: list[StatementLine]) -> TransactionSummary:
    credits = [line.amount for line in lines if line.direction is Direction.CREDIT]
    debits = [line.amount for line in lines if line.direction is Direction.DEBIT]
    return TransactionSummary(
        credit_count=len(credits),
        credit_sum=sum(credits),
        debit_count=len(debits),
        debit_sum=sum(debits),
        entry_count=len(lines),
    )
