"""Orange-Money-style bulk payments (PROVIDERS.md §3.1, §7.3): the portal upload file and the operator's report.

No public disbursement API exists for Orange Money Mali: an operator uploads our `;`-separated file to the
Bulk Payment portal and later brings back the portal's report (French headers, a preamble before the `N°`
header row, total lines after the data). Each report line about a payment becomes a canonical event with
authenticity `operator_report`: `Transfert` + `Succès` → SUCCEEDED, `Transfert` + `Echec` → FAILED (failure
code read from `Motif`), `Annulation` + `Succès` → REVERSED of the transfer named in `Motif`. Funding lines
and lines that cannot be read are listed as skipped, with the reason; nothing here raises on a bad report.
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from payments.domain.payments import Authenticity, FailureCode, PaymentState
from payments.providers.events import Instruction, ProviderEvent, xof_amount
from shared.errors import InvalidInput

PROVIDER = "orange-bulk"
UPLOAD_COLUMNS = (
    "N°",
    "N° de Compte",
    "Montant",
    "Devise",
    "Référence partenaire",
    "Nom du bénéficiaire",
    "Motif",
)
_MALI_MSISDN = re.compile(r"^\+223(\d{8})$")
#: Report columns we need, as `_plain` spells their headers.
_REFERENCE, _TYPE, _STATUS, _PARTNER_REFERENCE = (
    "reference",
    "type d'operation",
    "statut",
    "reference partenaire",
)
_REQUIRED = (_REFERENCE, _TYPE, _STATUS, _PARTNER_REFERENCE)
_FORMULA_STARTS = ("=", "+", "-", "@")
_FAILURE_WORDS: tuple[tuple[str, FailureCode], ...] = (
    ("inexistant", FailureCode.RECIPIENT_NOT_FOUND),
    ("introuvable", FailureCode.RECIPIENT_NOT_FOUND),
    ("non enregistre", FailureCode.RECIPIENT_NOT_FOUND),
    ("bloque", FailureCode.RECIPIENT_NOT_ALLOWED),
    ("suspendu", FailureCode.RECIPIENT_NOT_ALLOWED),
    ("non autorise", FailureCode.RECIPIENT_NOT_ALLOWED),
    ("plafond", FailureCode.RECIPIENT_LIMIT),
    ("solde insuffisant", FailureCode.INSUFFICIENT_FUNDS),
)


def _cell(text: str) -> str:
    """A free-text cell that cannot break the file nor run as a spreadsheet formula."""
    flat = re.sub(r"[;\r\n\t]+", " ", text).strip()
    return "'" + flat if flat.startswith(_FORMULA_STARTS) else flat


def write_bulk_file(instructions: Sequence[Instruction]) -> bytes:
    """The UTF-8 `;`-separated file for the portal, headed like its report; MSISDNs in their 8-digit national form."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(UPLOAD_COLUMNS)
    for number, instruction in enumerate(instructions, start=1):
        national = _MALI_MSISDN.match(instruction.payee_msisdn)
        if national is None:
            raise InvalidInput(
                f"{instruction.reference}: {instruction.payee_msisdn!r} is not a +223 mobile number"
            )
        if instruction.amount <= 0:
            raise InvalidInput(f"{instruction.reference}: a transfer moves a positive amount")
        writer.writerow(
            (
                number,
                national.group(1),
                instruction.amount,
                instruction.currency,
                instruction.reference,
                _cell(instruction.payee_name or ""),
                _cell(instruction.description),
            )
        )
    return out.getvalue().encode("utf-8")


@dataclass(frozen=True)
class SkippedLine:
    """A report line that did not become an event, and why."""

    line_no: int
    reason: str


@dataclass(frozen=True)
class BulkReport:
    """What an operator bulk report says about payments."""

    events: tuple[ProviderEvent, ...]
    skipped: tuple[SkippedLine, ...]


def _plain(text: str) -> str:
    """Lower case without accents or surrounding space: `Succès` → `succes`, `Référence` → `reference`."""
    decomposed = unicodedata.normalize("NFKD", text.strip())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def _decoded(raw: bytes) -> str:
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1252", errors="replace")


def _payee(account: str) -> str | None:
    digits = re.sub(r"\D", "", account)
    if len(digits) == 8:
        return "+223" + digits
    if len(digits) == 11 and digits.startswith("223"):
        return "+" + digits
    return account.strip() or None


def _event_time(day: str, time: str) -> datetime | None:
    try:
        return datetime.strptime(f"{day.strip()} {time.strip() or '00:00:00'}", "%d/%m/%Y %H:%M:%S").replace(
            tzinfo=UTC
        )
    except ValueError:
        return None


def _failure_from(motif: str) -> FailureCode:
    plain = _plain(motif)
    return next((code for word, code in _FAILURE_WORDS if word in plain), FailureCode.UNCLASSIFIED)


def _amount(text: str) -> int | None:
    return xof_amount(re.sub(r"[\s\u00a0\u202f]", "", text))


@dataclass(frozen=True)
class _Layout:
    """Where the header row is, how it is separated, and which column holds what."""

    header_index: int
    delimiter: str
    columns: dict[str, int]
    currency: str


def _layout(lines: list[str]) -> _Layout | None:
    currency = "XOF"
    for index, line in enumerate(lines):
        delimiter = ";" if ";" in line else ","
        cells = next(csv.reader([line], delimiter=delimiter), [])
        first = _plain(cells[0]) if cells else ""
        if first == "devise" and len(cells) > 1 and cells[1].strip():
            currency = cells[1].strip()
        if first in {"n°", "no", "n"}:
            columns = {_plain(name).replace("’", "'"): position for position, name in enumerate(cells)}
            return (
                _Layout(index, delimiter, columns, currency) if all(c in columns for c in _REQUIRED) else None
            )
    return None


def parse_bulk_report(raw: bytes, *, received_at: datetime, provider: str = PROVIDER) -> BulkReport:
    """Read an operator bulk report into canonical events (one per payment line)."""
    lines = _decoded(raw).splitlines()
    layout = _layout(lines)
    if layout is None:
        return BulkReport((), (SkippedLine(0, "no header row with Référence, Type d'opération, Statut"),))
    events: list[ProviderEvent] = []
    skipped: list[SkippedLine] = []
    rows = csv.reader(lines[layout.header_index + 1 :], delimiter=layout.delimiter)
    for line_no, cells in enumerate(rows, start=layout.header_index + 2):
        if not cells or not cells[0].strip().isdigit():
            continue
        row = {
            name: cells[position] if position < len(cells) else ""
            for name, position in layout.columns.items()
        }
        event = _event(row, layout.currency, received_at, provider)
        if isinstance(event, str):
            skipped.append(SkippedLine(line_no, event))
        else:
            events.append(event)
    return BulkReport(tuple(events), tuple(skipped))


def _event(row: dict[str, str], currency: str, received_at: datetime, provider: str) -> ProviderEvent | str:
    """The event a report line stands for, or why it stands for none."""
    kind, outcome = _plain(row[_TYPE]), _plain(row[_STATUS])
    motif = row.get("motif", "").strip()
    operator_ref, partner_ref = row[_REFERENCE].strip(), row[_PARTNER_REFERENCE].strip()
    if kind not in {"transfert", "annulation"}:
        return f"{row[_TYPE].strip() or 'untyped'} line, not a payment"
    if not partner_ref or not operator_ref:
        return "no Référence or Référence partenaire"
    status = _status(kind, outcome)
    if status is None:
        return f"{kind} with status {row[_STATUS].strip()!r} says nothing final"
    reversing = kind == "annulation"
    cancelled = re.search(r"annulation de\s+(\S+)", motif, re.IGNORECASE)
    return ProviderEvent(
        event_key=f"{provider}:{operator_ref}",
        provider=provider,
        received_at=received_at,
        status=status,
        raw_status=f"{row[_TYPE].strip()} {row[_STATUS].strip()}",
        authenticity=Authenticity.OPERATOR_REPORT,
        instruction_id=partner_ref,
        provider_tx_ref=(cancelled.group(1) if cancelled else None) if reversing else operator_ref,
        provider_event_time=_event_time(row.get("date", ""), row.get("heure", "")),
        amount=_amount(row.get("credit" if reversing else "debit", "")),
        currency=currency,
        payee=_payee(row.get("n° de compte", "")),
        fee=_amount(row.get("frais", "")),
        failure_code=_failure_from(motif) if status is PaymentState.FAILED else None,
        raw_message=motif or None,
    )


def _status(kind: str, outcome: str) -> PaymentState | None:
    if kind == "annulation":
        return PaymentState.REVERSED if outcome == "succes" else None
    return {"succes": PaymentState.SUCCEEDED, "echec": PaymentState.FAILED}.get(outcome)
