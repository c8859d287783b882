"""Thin routes of the reconciliation API."""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Callable
from typing import Any, BinaryIO
from uuid import UUID

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from reconciliation.api.dependencies import (
    IdempotencyKey,
    Operator,
    Reader,
    UnitOfWorkDep,
    sees_full_numbers,
)
from reconciliation.api.exports import report_csv, report_xlsx
from reconciliation.api.schemas import (
    AccountIn,
    AccountOut,
    AuditPageOut,
    DiscrepancyListOut,
    DiscrepancyOut,
    ImportedStatementOut,
    RedemptionReportImportOut,
    RedemptionReportOut,
    ResolutionIn,
    StatementImportOut,
    StatementOut,
    VerificationOut,
)
from reconciliation.db.unit_of_work import ReconciliationUnitOfWork
from reconciliation.redemptions.report import RedemptionReportTooLarge
from reconciliation.statements.lines import StatementFormat, StatementTooLarge
from reconciliation.use_cases.chain_audit import verify_audit_chain
from reconciliation.use_cases.import_redemption_report import import_redemption_report
from reconciliation.use_cases.import_statement import import_statement
from reconciliation.use_cases.register_account import register_account
from reconciliation.use_cases.report_cycle import cycle_report, cycle_summary
from reconciliation.use_cases.resolve_discrepancy import resolve_discrepancy
from shared.auth import Principal
from shared.errors import NotFound, PayloadTooLarge
from shared.http.errors import ApiError
from shared.http.idempotency import fingerprint, run_once

router = APIRouter(prefix="/v1", tags=["reconciliation"])

_FORMAT_OF_NAME = {
    "camt.053": StatementFormat.CAMT053,
    "camt053": StatementFormat.CAMT053,
    "mt940": StatementFormat.MT940,
    "operator_csv": StatementFormat.OPERATOR_CSV,
    "csv": StatementFormat.OPERATOR_CSV,
}
_FORMAT_OF_MEDIA_TYPE = {
    "application/xml": StatementFormat.CAMT053,
    "text/xml": StatementFormat.CAMT053,
    "application/vnd.iso20022.camt.053+xml": StatementFormat.CAMT053,
    "application/x-mt940": StatementFormat.MT940,
    "text/x-mt940": StatementFormat.MT940,
    "text/csv": StatementFormat.OPERATOR_CSV,
}
_XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def statement_format(name: str | None, content_type: str | None) -> StatementFormat:
    if name is not None:
        found = _FORMAT_OF_NAME.get(name.lower())
        if found is None:
            raise ApiError(
                422, "invalid_input", f"unknown format {name!r}", {"allowed": sorted(_FORMAT_OF_NAME)}
            )
        return found
    media_type = (content_type or "").split(";")[0].strip().lower()
    found = _FORMAT_OF_MEDIA_TYPE.get(media_type)
    if found is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"cannot tell the statement format from Content-Type {media_type or 'none'!r}:"
            " send a `format` query parameter (camt.053, mt940, operator_csv)",
            {"allowed_content_types": sorted(_FORMAT_OF_MEDIA_TYPE)},
        )
    return found


async def _spool(
    request: Request, limit: int, too_large: type[PayloadTooLarge] = StatementTooLarge
) -> tuple[BinaryIO, str]:
    """The body streamed into a temporary file, never held whole in memory; 413 past `limit` bytes."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - handed to the caller, who closes it
    digest = hashlib.sha256()
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(
                    f"the file is larger than the limit of {limit} bytes", details={"max_bytes": limit}
                )
            digest.update(chunk)
            spool.write(chunk)
    except BaseException:
        spool.close()
        raise
    spool.seek(0)
    return spool, digest.hexdigest()


async def _import_once(
    request: Request,
    user: Principal,
    uow: ReconciliationUnitOfWork,
    key: str | None,
    *,
    path: str,
    work: Callable[[BinaryIO, int], tuple[int, Any]],
    too_large: type[PayloadTooLarge] = StatementTooLarge,
) -> Response:
    """A file import: the body spooled (413 past the limit), then `work(spool, limit)` once per idempotency
    key in one transaction, the request told apart by the file's digest."""
    limit = request.app.state.settings.max_body_bytes
    spool, sha256 = await _spool(request, limit, too_large)

    def transaction() -> Response:
        with spool, uow:
            return run_once(
                uow,
                principal=user,
                key=key,
                request_fingerprint=fingerprint("POST", path, sha256.encode()),
                work=lambda: work(spool, limit),
            )

    return await run_in_threadpool(transaction)


@router.post("/statements", status_code=201, response_model=StatementImportOut)
async def post_statement(
    request: Request,
    user: Operator,
    uow: UnitOfWorkDep,
    key: IdempotencyKey = None,
    format: str | None = Query(default=None, description="camt.053, mt940 or operator_csv"),
) -> Response:
    """Import a camt.053, MT940 or operator CSV statement: checked, stored and matched as a whole, or refused."""
    chosen = statement_format(format, request.headers.get("content-type"))

    def work(spool: BinaryIO, limit: int) -> tuple[int, Any]:
        imported = import_statement(
            uow, source=spool, statement_format=chosen, imported_by=user, max_bytes=limit
        )
        return 201, StatementImportOut(
            statements=[ImportedStatementOut.model_validate(item, from_attributes=True) for item in imported]
        )

    return await _import_once(request, user, uow, key, path=f"/v1/statements?format={chosen}", work=work)


@router.get("/statements/{statement_id}", response_model=StatementOut)
def get_statement(
    statement_id: UUID,
    user: Reader,
    uow: UnitOfWorkDep,
    after: int = Query(default=-1, ge=-1, description="position of the line after which the page starts"),
    limit: int = Query(default=500, ge=1, le=5000, description="lines per page"),
) -> dict[str, Any]:
    """The statement, its checks and outcomes, and one page of its lines with their discrepancies."""
    with uow:
        found = uow.statements.get(statement_id, after=after, limit=limit)
        if found is None:
            raise NotFound(f"no statement {statement_id}")
        lines = found["lines"]
        found["discrepancies"] = (
            uow.discrepancies.of_statement(
                statement_id, positions=(lines[0]["position"], lines[-1]["position"])
            )
            if lines
            else []
        )
    found["next_after"] = lines[-1]["position"] if len(lines) == limit else None
    return found


@router.post("/redemption-reports", status_code=201, response_model=RedemptionReportImportOut)
async def post_redemption_report(
    request: Request, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Import a vendor's voucher redemption report (CSV): its readable rows matched against the redemptions
    payments recorded, its unreadable rows listed with their reasons; a malformed file is refused whole."""

    def work(spool: BinaryIO, limit: int) -> tuple[int, Any]:
        imported = import_redemption_report(uow, source=spool, imported_by=user, max_bytes=limit)
        return 201, RedemptionReportImportOut.model_validate(imported, from_attributes=True)

    return await _import_once(
        request, user, uow, key, path="/v1/redemption-reports", work=work, too_large=RedemptionReportTooLarge
    )


@router.get("/redemption-reports/{report_id}", response_model=RedemptionReportOut)
def get_redemption_report(
    report_id: UUID,
    user: Reader,
    uow: UnitOfWorkDep,
    after: int = Query(default=-1, ge=-1, description="position of the line after which the page starts"),
    limit: int = Query(default=500, ge=1, le=5000, description="lines per page"),
) -> dict[str, Any]:
    """The report, the days it covers per vendor, its rejected rows, one page of its lines with their
    outcomes, and the discrepancies it found."""
    with uow:
        found = uow.redemptions.get(report_id, after=after, limit=limit)
        if found is None:
            raise NotFound(f"no redemption report {report_id}")
        found["discrepancies"] = uow.discrepancies.of_report(report_id)
    lines = found["lines"]
    found["next_after"] = lines[-1]["position"] if len(lines) == limit else None
    return found


@router.get("/cycles/{cycle_id}/reconciliation")
def get_cycle_reconciliation(cycle_id: UUID, user: Reader, uow: UnitOfWorkDep) -> dict[str, Any]:
    """Planned, instructed, confirmed, settled, failed, cancelled, reversed, unmatched and awaiting — counts and
    amounts in XOF, in total and by programme, region, commune, provider and modality; vouchers issued,
    redeemed and expired, and what vendors' redemption reports say of the redeemed ones."""
    with uow:
        return cycle_summary(uow, cycle_id=cycle_id)


@router.get("/cycles/{cycle_id}/discrepancies", response_model=DiscrepancyListOut)
def get_cycle_discrepancies(
    cycle_id: UUID, user: Reader, uow: UnitOfWorkDep, category: str | None = None
) -> dict[str, Any]:
    with uow:
        return {"items": uow.discrepancies.of_cycle(cycle_id, category=category)}


@router.post("/discrepancies/{discrepancy_id}/resolution", response_model=DiscrepancyOut)
def post_resolution(
    discrepancy_id: UUID, body: ResolutionIn, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Resolve a discrepancy with a reason (operators); the resolver and time are kept for auditors."""
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", f"/v1/discrepancies/{discrepancy_id}/resolution", body),
            work=lambda: (
                200,
                DiscrepancyOut.model_validate(
                    resolve_discrepancy(
                        uow, discrepancy_id=discrepancy_id, reason=body.reason, resolved_by=user
                    )
                ),
            ),
        )


@router.get("/cycles/{cycle_id}/report.json")
def get_report_json(cycle_id: UUID, user: Reader, uow: UnitOfWorkDep) -> Response:
    with uow:
        report = cycle_report(uow, cycle_id=cycle_id, masked=not sees_full_numbers(user))
    document = {
        "summary": report.summary,
        "instructions": report.rows,
        "discrepancies": [
            DiscrepancyOut.model_validate(item).model_dump(mode="json") for item in report.discrepancies
        ],
    }
    return Response(orjson.dumps(document), media_type="application/json")


@router.get("/cycles/{cycle_id}/report.csv")
def get_report_csv(cycle_id: UUID, user: Reader, uow: UnitOfWorkDep) -> Response:
    with uow:
        report = cycle_report(uow, cycle_id=cycle_id, masked=not sees_full_numbers(user))
    return Response(
        report_csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="reconciliation-{cycle_id}.csv"'},
    )


@router.get("/cycles/{cycle_id}/report.xlsx")
def get_report_xlsx(cycle_id: UUID, user: Reader, uow: UnitOfWorkDep) -> Response:
    with uow:
        report = cycle_report(uow, cycle_id=cycle_id, masked=not sees_full_numbers(user))
    return Response(
        report_xlsx(report),
        media_type=_XLSX,
        headers={"Content-Disposition": f'attachment; filename="reconciliation-{cycle_id}.xlsx"'},
    )


@router.get("/audit", response_model=AuditPageOut)
def get_audit(
    user: Reader,
    uow: UnitOfWorkDep,
    after: int = Query(default=0, ge=0, description="seq after which to start"),
    limit: int = Query(default=100, ge=1, le=1000),
) -> dict[str, Any]:
    with uow:
        items = uow.audit_log.page(after=after, limit=limit)
    return {"items": items, "next_after": items[-1]["seq"] if len(items) == limit else None}


@router.get("/audit/verification", response_model=VerificationOut)
def get_audit_verification(user: Reader, uow: UnitOfWorkDep) -> dict[str, Any]:
    """Recompute the whole chain: intact, or the first edited, inserted or deleted entry and where."""
    with uow:
        verdict = verify_audit_chain(uow)
    return {
        "intact": verdict.intact,
        "checked": verdict.checked,
        "tampering": verdict.tampering.value if verdict.tampering else None,
        "position": verdict.position,
        "seq": verdict.seq,
        "detail": verdict.detail or "every entry links to the one before and matches its hash",
    }


@router.post("/accounts", status_code=201, response_model=AccountOut)
def post_account(body: AccountIn, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None) -> Response:
    """Make an account known: statements of accounts nobody registered are refused (422)."""

    def work() -> tuple[int, AccountOut]:
        register_account(uow, account_id=body.account_id, provider=body.provider, registered_by=user)
        return 201, AccountOut(account_id=body.account_id.strip(), provider=body.provider.strip())

    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/accounts", body),
            work=work,
        )
