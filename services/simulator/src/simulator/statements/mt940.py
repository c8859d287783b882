"""SWIFT MT940 statements (CRLF, SWIFT-X characters only, XOF amounts as `30000,`), one message per account."""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Iterator
from datetime import date, timedelta

from simulator.ledger import Movement
from simulator.statements.period import StatementPeriod, fees_of

CRLF = "\r\n"
_CHUNK = 2_000
_LINE = 65
_LINES = 6
_SWIFT_X = frozenset(string.ascii_letters + string.digits + "/-?:().,'+ ")
_TO_SWIFT_X = {code: " " for code in range(128) if chr(code) not in _SWIFT_X}
_CUSTOMER_REFERENCE = re.compile(r"(?!/)(?!.*//)[A-Za-z0-9/\-?:().,'+]{1,16}(?<!/)")


def mt940(periods: list[StatementPeriod]) -> Iterator[str]:
    for period in periods:
        yield from _message(period)


def swift_x(text: str) -> str:
    """The text in the SWIFT X character set: accents dropped, anything else outside the set made a space."""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return text.translate(_TO_SWIFT_X)


def _message(period: StatementPeriod) -> Iterator[str]:
    day, account = period.day, period.account
    reference = swift_x(f"S{day:%y%m%d}{account.id}".replace("/", ""))[:16]
    sequence = (day - date(day.year, 1, 1)).days + 1
    yield (
        f":20:{reference}{CRLF}:25:{swift_x(account.id)}{CRLF}:28C:{sequence}/1{CRLF}"
        f":60F:{_balance(period.opening, day - timedelta(days=1))}{CRLF}"
    )
    booked = period.booked
    dates = f"{day:%y%m%d}{day:%m%d}"
    chunk: list[str] = []
    for movement in booked:
        chunk.append(_line(movement, dates))
        if len(chunk) == _CHUNK:
            yield "".join(chunk)
            chunk = []
    fees, charged = fees_of(booked)
    if fees:
        details = f"FRAIS SUR PAIEMENTS DU {day:%d/%m/%Y} ({charged} OPERATIONS)"
        chunk.append(_statement_line(dates, "D", fees, "NCHG", "NONREF", f"FEES{day:%y%m%d}", details))
    closing = _balance(period.closing, day)
    chunk.append(f":62F:{closing}{CRLF}:64:{closing}{CRLF}-{CRLF}")
    yield "".join(chunk)


def _line(movement: Movement, dates: str) -> str:
    payment = movement.payment
    name = swift_x(movement.counterparty or (payment.msisdn if payment else "")).upper()
    reference = _customer_reference(movement.reference)
    if movement.kind == "funding":
        details = f"APPROVISIONNEMENT /EREF/{swift_x(movement.reference)} /ORDP/{name}"
        return _statement_line(dates, "C", movement.amount, "NTRF", reference, movement.service_ref, details)
    if movement.kind == "payment":
        details = f"/EREF/{swift_x(movement.reference)} /BENEF/{name} /REMI/DECAISSEMENT"
        return _statement_line(dates, "D", movement.amount, "NTRF", reference, movement.service_ref, details)
    original = swift_x(payment.provider_ref) if payment else ""
    if payment is not None and payment.undoing == "return":
        details = f"RETOUR /EREF/{swift_x(movement.reference)} /RTRN/AC04 COMPTE CLOTURE /PREF/{original}"
        return _statement_line(dates, "RD", movement.amount, "NRTI", reference, movement.service_ref, details)
    details = f"ANNULATION /EREF/{swift_x(movement.reference)} /PREF/{original}"
    return _statement_line(dates, "RD", movement.amount, "NTRF", reference, movement.service_ref, details)


def _statement_line(
    dates: str, mark: str, amount: int, kind: str, reference: str, bank_ref: str, details: str
) -> str:
    """`:61:` value date and entry date, mark (C, D, RD), amount, type, customer//bank reference; then `:86:`."""
    bank = swift_x(bank_ref).replace(" ", "")[:16]
    return f":61:{dates}{mark}{amount},{kind}{reference}//{bank}{CRLF}:86:{_wrap(details)}{CRLF}"


def _customer_reference(reference: str) -> str:
    """Our reference when it fits `16x` in SWIFT X (no `//`, no leading or trailing `/`), else NONREF."""
    return reference if _CUSTOMER_REFERENCE.fullmatch(reference) else "NONREF"


def _wrap(details: str) -> str:
    """At most six lines of 65; a continuation line never starts with `:` or `-` (it would read as a tag)."""
    if len(details) <= _LINE:
        return details
    text = details[: _LINE * _LINES]
    lines = [text[start : start + _LINE] for start in range(0, len(text), _LINE)]
    return CRLF.join(lines[:1] + ["." + line[1:] if line[:1] in ":-" else line for line in lines[1:]])


def _balance(amount: int, day: date) -> str:
    return f"{'C' if amount >= 0 else 'D'}{day:%y%m%d}XOF{abs(amount)},"
