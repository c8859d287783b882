"""Orange-style bulk payment portal: a CSV upload becomes a batch; its report is the operator's CSV."""

from __future__ import annotations

import csv
import email.parser
import email.policy
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from simulator.behaviour import Dialect, PaymentFate
from simulator.clock import utc_now, yymmdd
from simulator.ledger import Payment
from simulator.payloads import json_response
from simulator.simulation import Simulation
from simulator.statements.operator_csv import operator_report

#: Accepted spellings of the upload's columns (compared lower-case, accents kept).
_COLUMNS: dict[str, tuple[str, ...]] = {
    "reference": ("reference", "référence", "référence partenaire", "reference partenaire"),
    "msisdn": ("msisdn", "numéro", "numero", "n° de compte", "telephone", "téléphone"),
    "amount": ("amount", "montant"),
    "name": ("name", "nom", "nom du bénéficiaire", "beneficiaire", "bénéficiaire"),
}
_MAX_REFERENCE = 35
_PAGE_UNAVAILABLE = (
    "<!DOCTYPE html><html><head><title>Orange Money - Maintenance</title></head>"
    "<body><h1>Le portail est momentanément indisponible</h1></body></html>"
)
_PAGE_ERROR = (
    "<!DOCTYPE html><html><head><title>Orange Money - Erreur</title></head>"
    "<body><h1>Une erreur interne est survenue</h1></body></html>"
)


class UploadError(ValueError):
    """The uploaded file cannot be read as a bulk payment file."""


@dataclass(frozen=True, slots=True)
class BulkLine:
    number: int
    reference: str
    msisdn: str
    amount: int
    name: str


@dataclass(slots=True, eq=False)
class BulkBatch:
    batch_id: str
    reference: str | None
    created_at: datetime
    digest: str
    lines: int
    payments: list[Payment]
    rejected: list[dict[str, Any]]
    completed_at: datetime | None = None


class OrangeBulkDesk:
    """The simulated bulk portal under `/orange/bulk`. No callbacks: the report is the only answer."""

    dialect: Dialect = "orange"

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation
        self.reset()

    def reset(self) -> None:
        self._batches: dict[str, BulkBatch] = {}
        self._by_digest: dict[str, str] = {}

    def outage(self, status_code: int) -> Response:
        page = _PAGE_UNAVAILABLE if status_code == 503 else _PAGE_ERROR
        return Response(page, status_code=status_code, media_type="text/html; charset=utf-8")

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/orange/bulk", tags=["orange"])
        router.add_api_route("", self.post_bulk, methods=["POST"])
        router.add_api_route("/{batch_id}", self.get_bulk, methods=["GET"])
        router.add_api_route("/{batch_id}/report.csv", self.get_report, methods=["GET"])
        return router

    async def post_bulk(self, request: Request) -> Response:
        """Upload (raw `text/csv` body, or multipart with one file); `?reference=` names the batch."""
        reference = request.query_params.get("reference")
        try:
            upload = _uploaded_file(request.headers.get("content-type", ""), await request.body())
            lines, rejected = _read_lines(upload)
        except UploadError as error:
            return json_response({"error": "fichier_invalide", "message": str(error)}, 400)
        if reference is not None and not 0 < len(reference) <= _MAX_REFERENCE:
            return json_response(
                {"error": "reference_invalide", "message": "reference: 1 to 35 characters"}, 400
            )
        digest = hashlib.sha256(upload).hexdigest()
        admission = await self._simulation.admit(
            self, key=reference or digest, reference=reference, moves_money=True
        )
        if admission.refusal:
            return admission.refusal
        earlier = self._by_digest.get(digest)
        if earlier is not None and request.query_params.get("allow_duplicate") not in ("1", "true"):
            body = {
                "error": "fichier_deja_soumis",
                "message": "Ce fichier a déjà été soumis",
                "batch_id": earlier,
            }
            return admission.answer(json_response(body, 409))
        batch = self._open(reference, digest, lines, rejected)
        return admission.answer(json_response(self._view(batch), 202))

    async def get_bulk(self, batch_id: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        batch = self._batches.get(batch_id)
        if batch is None:
            return admission.answer(json_response({"error": "lot_inconnu", "message": batch_id}, 404))
        return admission.answer(json_response(self._view(batch)))

    async def get_report(self, batch_id: str) -> Response:
        admission = await self._simulation.admit(self)
        if admission.refusal:
            return admission.refusal
        batch = self._batches.get(batch_id)
        if batch is None:
            return admission.answer(json_response({"error": "lot_inconnu", "message": batch_id}, 404))
        ledger = self._simulation.ledger
        mine = [
            m
            for m in ledger.movements(self.dialect)
            if m.payment is not None and m.payment.batch_id == batch_id
        ]
        opening = mine[0].balance_after - mine[0].effect if mine else ledger.balance(self.dialect)
        start = datetime.combine(batch.created_at.date(), time.min, tzinfo=UTC)
        last = mine[-1].booked_at.date() if mine else batch.created_at.date()
        end = datetime.combine(last, time.min, tzinfo=UTC) + timedelta(days=1, seconds=-1)
        report = operator_report(ledger.account(self.dialect), start, end, opening, mine)
        headers = {"Content-Disposition": f'attachment; filename="rapport_{batch_id}.csv"'}
        return admission.answer(
            StreamingResponse(report, media_type="text/csv; charset=utf-8", headers=headers)
        )

    def _open(
        self, reference: str | None, digest: str, lines: list[BulkLine], rejected: list[dict[str, Any]]
    ) -> BulkBatch:
        ledger = self._simulation.ledger
        at = utc_now()
        batch_id = f"OMB{yymmdd(at)}{ledger.serial():07d}"
        items: list[tuple[Payment, PaymentFate]] = []
        for line in lines:
            payment = Payment(
                dialect=self.dialect,
                provider_ref=f"BP{yymmdd(at)}.B{ledger.serial():06d}",
                request_key=f"{batch_id}/{line.number}",
                our_reference=line.reference,
                msisdn=line.msisdn,
                name=line.name,
                requested_amount=line.amount,
                created_at=at,
                batch_id=batch_id,
            )
            items.append((payment, self._simulation.payment_fate(self.dialect, line.reference)))
        batch = BulkBatch(
            batch_id, reference, at, digest, len(lines) + len(rejected), [p for p, _ in items], rejected
        )
        self._batches[batch_id] = batch
        self._by_digest.setdefault(digest, batch_id)
        self._simulation.processor.accept_batch(self.dialect, items, lambda: self._complete(batch))
        return batch

    @staticmethod
    def _complete(batch: BulkBatch) -> None:
        batch.completed_at = utc_now()

    @staticmethod
    def _view(batch: BulkBatch) -> dict[str, Any]:
        counts = {status: 0 for status in ("pending", "succeeded", "failed", "reversed")}
        for payment in batch.payments:
            counts[payment.status] += 1
        return {
            "batch_id": batch.batch_id,
            "reference": batch.reference,
            "status": "completed" if batch.completed_at else "processing",
            "lines": batch.lines,
            "accepted": len(batch.payments),
            "rejected": batch.rejected,
            **counts,
            "report": f"/orange/bulk/{batch.batch_id}/report.csv",
        }


def _uploaded_file(content_type: str, body: bytes) -> bytes:
    """The file's bytes: the body itself, or the first file part of a multipart/form-data body."""
    if not content_type.lower().startswith("multipart/form-data"):
        return body
    preamble = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(preamble + body)
    for part in message.iter_parts():
        if part.get_filename() is not None or part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise UploadError("no file part in the multipart body")


def _read_lines(upload: bytes) -> tuple[list[BulkLine], list[dict[str, Any]]]:
    text = _decoded(upload)
    first = text.split("\n", 1)[0]
    rows = csv.reader(io.StringIO(text), delimiter=";" if ";" in first else ",")
    header = next(rows, None)
    if header is None:
        raise UploadError("the file is empty")
    positions = _positions(header)
    lines: list[BulkLine] = []
    rejected: list[dict[str, Any]] = []
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        try:
            lines.append(_line(number, row, positions))
        except UploadError as error:
            rejected.append({"line": number, "reason": str(error)})
    return lines, rejected


def _decoded(upload: bytes) -> str:
    try:
        return upload.decode("utf-8-sig")
    except UnicodeDecodeError:
        return upload.decode("cp1252", errors="replace")


def _positions(header: list[str]) -> dict[str, int]:
    names = [cell.strip().lower() for cell in header]
    positions: dict[str, int] = {}
    for column, aliases in _COLUMNS.items():
        found = [index for index, name in enumerate(names) if name in aliases]
        if found:
            positions[column] = found[0]
        elif column != "name":
            raise UploadError(f"missing column {column!r} (expected: reference;msisdn;amount;name)")
    return positions


def _line(number: int, row: list[str], positions: dict[str, int]) -> BulkLine:
    def cell(column: str) -> str:
        index = positions.get(column)
        return row[index].strip() if index is not None and index < len(row) else ""

    reference, amount_text = cell("reference"), cell("amount").replace(" ", "").replace("\u00a0", "")
    if not 0 < len(reference) <= _MAX_REFERENCE:
        raise UploadError("référence absente ou trop longue")
    if not amount_text.isdigit() or int(amount_text) <= 0:
        raise UploadError(f"montant invalide: {cell('amount')!r}")
    return BulkLine(number, reference, _msisdn(cell("msisdn")), int(amount_text), cell("name"))


def _msisdn(value: str) -> str:
    """National 8 digits (`76550041`), or with the country code (`22376550041`, `+22376550041`), as E.164."""
    digits = value.replace(" ", "").removeprefix("+").removeprefix("00")
    if not digits.isdigit():
        raise UploadError(f"numéro invalide: {value!r}")
    if len(digits) == 8:
        return f"+223{digits}"
    if len(digits) == 11 and digits.startswith("223"):
        return f"+{digits}"
    raise UploadError(f"numéro invalide: {value!r}")
