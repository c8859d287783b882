"""Thin routes of the payments API: open the unit of work, call one use case, commit (through `run_once`)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from payments.api.dependencies import (
    Approver,
    Decider,
    IdempotencyKey,
    Operator,
    Reader,
    SettingsDep,
    UnitOfWorkDep,
    Vendor,
    VoucherReader,
)
from payments.api.schemas import (
    BulkFileOut,
    BulkReportOut,
    CancellationIn,
    CycleIn,
    CycleOut,
    CycleProgressOut,
    Figures,
    MembershipCountsOut,
    PaymentOut,
    PaymentPageOut,
    PolicyIn,
    RedemptionIn,
    SchemeIn,
    SchemeOut,
    TopUpIn,
    VendorIn,
    VendorOut,
    VoucherOut,
    VoucherSlipOut,
    VoucherSlipPageOut,
)
from payments.db.payments import OPEN_STATES
from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.schemes import ProviderRouting, TopUp, TransferScheme
from payments.use_cases.add_top_up import add_top_up
from payments.use_cases.approve_cycle import approve_cycle
from payments.use_cases.bulk_files import export_bulk_file, import_bulk_report
from payments.use_cases.cancel_cycle import cancel_cycle
from payments.use_cases.create_cycle import create_cycle
from payments.use_cases.define_scheme import define_scheme
from payments.use_cases.redeem_voucher import find_voucher, redeem_voucher
from payments.use_cases.register_vendor import register_vendor
from payments.use_cases.release_cycle import release_cycle
from payments.use_cases.set_cross_programme_policy import set_cross_programme_policy
from payments.use_cases.submit_cycle import submit_cycle
from shared.errors import InvalidInput, NotFound, PayloadTooLarge
from shared.http.idempotency import fingerprint, run_once

router = APIRouter(prefix="/v1")
#: Provider callbacks, included before `router`: the busiest routes are matched first.


@router.get("/beneficiaries/{household_id}", tags=["beneficiaries"])
def get_beneficiaries(household_id: UUID, user: Reader, uow: UnitOfWorkDep) -> dict[str, Any]:
    """What this service has learnt of a household from enrolment's events."""
    with uow:
        row = uow.beneficiaries.get(household_id)
    if row is None:
        raise NotFound(f"no household {household_id} known here (yet)")
    return row


@router.get(
    "/programmes/{programme_code}/memberships", response_model=MembershipCountsOut, tags=["beneficiaries"]
)
def get_membership_counts(programme_code: str, user: Reader, uow: UnitOfWorkDep) -> MembershipCountsOut:
    """How many of a programme's households payments knows from enrolment's events, by status (`active` are
    the ones a new cycle pays): an operator checks it has caught up before creating a cycle."""
    with uow:
        counts = uow.memberships.counts(programme_code)
    return MembershipCountsOut(
        programme_code=programme_code, active=counts.get("active", 0), by_status=counts
    )


# --- schemes and policies --------------------------------------------------------------------------------


def _scheme_out(row: dict[str, Any]) -> SchemeOut:
    return SchemeOut(
        id=row["id"],
        programme_code=row["programme_code"],
        first_period=row["first_period"],
        scheme=row["body"]["scheme"],
        created_by=row["created_by"],
        created_at=row["created_at"],
    )


@router.post("/schemes", status_code=201, response_model=SchemeOut, tags=["schemes"])
def post_schemes(body: SchemeIn, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None) -> Response:
    """Define the transfer scheme of a programme (a newer one replaces it for later cycles)."""
    try:
        scheme = TransferScheme(
            programme_code=body.reference_code,
            modality=body.modality,
            basis=body.basis,
            cycles=body.cycles,
            size_supplement=body.size_supplement,
            routing=ProviderRouting(routes=body.routing) if body.routing else None,
        )
    except ValueError as error:
        raise InvalidInput(str(error).splitlines()[-1]) from error
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/schemes", body),
            work=lambda: (
                201,
                _scheme_out(
                    define_scheme(
                        uow,
                        programme_code=body.programme_code,
                        first_period=body.first_period,
                        scheme=scheme,
                        actor=user,
                    )
                ),
            ),
        )


@router.get("/schemes", response_model=list[SchemeOut], tags=["schemes"])
def get_schemes(user: Reader, uow: UnitOfWorkDep) -> list[SchemeOut]:
    """The scheme in force for each programme."""
    with uow:
        return [_scheme_out(row) for row in uow.schemes.all_current()]


@router.post("/cross-programme-policies", status_code=201, tags=["schemes"])
def post_cross_programme_policies(
    body: PolicyIn, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """What a cycle does with a household also active in another programme: allow, flag (default) or block."""
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/cross-programme-policies", body),
            work=lambda: (
                201,
                set_cross_programme_policy(
                    uow,
                    programme_code=body.programme_code,
                    other_code=body.other_code,
                    action=body.action,
                    actor=user,
                ),
            ),
        )


@router.get("/cross-programme-policies", tags=["schemes"])
def get_cross_programme_policies(user: Reader, uow: UnitOfWorkDep) -> list[dict[str, Any]]:
    with uow:
        return uow.schemes.policies()


# --- cycles ----------------------------------------------------------------------------------------------


def cycle_out(uow: PaymentsUnitOfWork, cycle_id: UUID) -> CycleOut:
    cycle = uow.cycles.get(cycle_id)
    if cycle is None:
        raise NotFound(f"no cycle {cycle_id}")
    top_ups = [
        {
            key: row[key]
            for key in (
                "id",
                "area",
                "fixed_amount",
                "multiplier_percent",
                "households",
                "amount",
                "created_by",
            )
        }
        for row in uow.cycles.top_ups(cycle_id)
    ]
    fields = {key: cycle[key] for key in CycleOut.model_fields if key in cycle}
    return CycleOut(**fields, summary=uow.cycles.summary(cycle_id), top_ups=top_ups)


@router.post("/cycles", status_code=201, response_model=CycleOut, tags=["cycles"])
def post_cycles(body: CycleIn, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None) -> Response:
    """Create a cycle; its entitlements are computed at once (see `summary` and `flags`).

    With `reissue_failed: true` the cycle also re-issues the programme's earlier definitive failures, each once
    (`reissue_as`: `voucher` or `mobile_money`); they are in the preview (`summary.reissues`, flags `reissue:<code>`)
    and pass maker-checker with the rest of the cycle."""

    def work() -> tuple[int, CycleOut]:
        cycle_id = create_cycle(
            uow,
            programme_code=body.programme_code,
            period=body.period,
            funding_line=body.funding_line,
            refocus=body.refocus,
            piggyback_of=body.piggyback_of,
            actor=user,
            reissue_failed=body.reissue_failed,
            reissue_as=body.reissue_as,
        )
        return 201, cycle_out(uow, cycle_id)

    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/cycles", body),
            work=work,
        )


@router.get("/cycles/{cycle_id}", response_model=CycleOut, tags=["cycles"])
def get_cycle(cycle_id: UUID, user: Reader, uow: UnitOfWorkDep) -> CycleOut:
    """A cycle with counts and sums by state, provider, region, commune and modality."""
    with uow:
        return cycle_out(uow, cycle_id)


@router.get("/cycles/{cycle_id}/progress", response_model=CycleProgressOut, tags=["cycles"])
def get_cycle_progress(cycle_id: UUID, user: Reader, uow: UnitOfWorkDep) -> CycleProgressOut:
    """A cycle's payments counted and summed by state, for following a release: one grouped read of the cycle's
    payments (278 ms a call at 200,000 while they move), where the full view (`GET /v1/cycles/{id}`) joins every
    entitlement and adds it up by state, provider and place (~1.4 s)."""
    with uow:
        cycle = uow.cycles.get(cycle_id)
        if cycle is None:
            raise NotFound(f"no cycle {cycle_id}")
        counts, amounts = uow.payments.cycle_figures(cycle_id)
    by_state = {state: Figures(count=counts[state], amount=amounts[state]) for state in sorted(counts)}
    return CycleProgressOut(
        cycle_id=cycle_id,
        state=cycle["state"],
        payments=Figures(count=sum(counts.values()), amount=sum(amounts.values())),
        open=sum(counts.get(state, 0) for state in OPEN_STATES),
        by_state=by_state,
    )


@router.post("/cycles/{cycle_id}/top-ups", status_code=201, tags=["cycles"])
def post_top_ups(
    cycle_id: UUID, body: TopUpIn, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Vertical expansion for an area: a fixed amount or a multiplier, recorded apart from the base."""
    try:
        top_up = TopUp(
            area=body.area, fixed_amount=body.fixed_amount, multiplier_percent=body.multiplier_percent
        )
    except ValueError as error:
        raise InvalidInput(str(error).splitlines()[-1]) from error
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", f"/v1/cycles/{cycle_id}/top-ups", body),
            work=lambda: (201, add_top_up(uow, cycle_id=cycle_id, top_up=top_up, actor=user)),
        )


@router.post("/cycles/{cycle_id}/submission", response_model=CycleOut, tags=["cycles"])
def post_submission(
    cycle_id: UUID, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Maker: submit the cycle for approval."""

    def work() -> tuple[int, CycleOut]:
        submit_cycle(uow, cycle_id=cycle_id, actor=user)
        return 200, cycle_out(uow, cycle_id)

    with uow:
        path = f"/v1/cycles/{cycle_id}/submission"
        return run_once(
            uow, principal=user, key=key, request_fingerprint=fingerprint("POST", path, None), work=work
        )


@router.post("/cycles/{cycle_id}/approval", response_model=CycleOut, tags=["cycles"])
def post_approval(cycle_id: UUID, user: Approver, uow: UnitOfWorkDep, key: IdempotencyKey = None) -> Response:
    """Checker: an approver who neither created nor submitted the cycle approves it."""

    def work() -> tuple[int, CycleOut]:
        approve_cycle(uow, cycle_id=cycle_id, actor=user)
        return 200, cycle_out(uow, cycle_id)

    with uow:
        path = f"/v1/cycles/{cycle_id}/approval"
        return run_once(
            uow, principal=user, key=key, request_fingerprint=fingerprint("POST", path, None), work=work
        )


@router.post("/cycles/{cycle_id}/release", status_code=202, response_model=CycleOut, tags=["cycles"])
def post_release(
    cycle_id: UUID, user: Decider, uow: UnitOfWorkDep, settings: SettingsDep, key: IdempotencyKey = None
) -> Response:
    """Release an approved cycle to the dispatcher (202); releasing again answers 200 and sends nothing more."""

    def work() -> tuple[int, CycleOut]:
        released = release_cycle(uow, cycle_id=cycle_id, actor=user, voucher_days=settings.voucher_days)
        return (202 if released else 200), cycle_out(uow, cycle_id)

    with uow:
        path = f"/v1/cycles/{cycle_id}/release"
        return run_once(
            uow, principal=user, key=key, request_fingerprint=fingerprint("POST", path, None), work=work
        )


@router.post("/cycles/{cycle_id}/cancellation", response_model=CycleOut, tags=["cycles"])
def post_cancellation(
    cycle_id: UUID, body: CancellationIn, user: Decider, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Cancel a cycle before its release."""

    def work() -> tuple[int, CycleOut]:
        cancel_cycle(uow, cycle_id=cycle_id, reason=body.reason, actor=user)
        return 200, cycle_out(uow, cycle_id)

    with uow:
        path = f"/v1/cycles/{cycle_id}/cancellation"
        return run_once(
            uow, principal=user, key=key, request_fingerprint=fingerprint("POST", path, body), work=work
        )


# --- payments --------------------------------------------------------------------------------------------


@router.get("/cycles/{cycle_id}/payments", response_model=PaymentPageOut, tags=["payments"])
def get_cycle_payments(
    cycle_id: UUID,
    user: Reader,
    uow: UnitOfWorkDep,
    state: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> PaymentPageOut:
    """The cycle's payments, optionally in one state (e.g. FAILED for follow-up, UNKNOWN for those in doubt)."""
    with uow:
        if uow.cycles.get(cycle_id) is None:
            raise NotFound(f"no cycle {cycle_id}")
        total, rows = uow.payments.page(
            cycle_id, state=state.upper() if state else None, limit=limit, offset=offset
        )
    return PaymentPageOut(total=total, limit=limit, offset=offset, items=[PaymentOut(**row) for row in rows])


@router.get("/payments/{payment_id}", response_model=PaymentOut, tags=["payments"])
def get_payment(payment_id: UUID, user: Reader, uow: UnitOfWorkDep) -> PaymentOut:
    """One payment with its state history."""
    with uow:
        row = uow.payments.get(payment_id)
        if row is None:
            raise NotFound(f"no payment {payment_id}")
        history = uow.payments.history(payment_id)
    return PaymentOut(**row, history=history)


# --- bulk files (providers paid through a portal) -------------------------------------------------------

#: A portal report is read whole: 64 MB is some 400,000 lines.
MAX_BULK_REPORT_BYTES = 64 * 1024 * 1024


@router.post(
    "/cycles/{cycle_id}/bulk-files", status_code=201, response_model=BulkFileOut, tags=["bulk files"]
)
def post_bulk_file(
    cycle_id: UUID,
    user: Operator,
    uow: UnitOfWorkDep,
    provider: str = Query(default="orange-bulk", description="a provider paid through a portal file"),
    key: IdempotencyKey = None,
) -> Response:
    """Take every payment of the cycle still waiting for `provider` as a file to upload to its portal: the
    payments are recorded as submitted with the file (the dispatcher never sends them). 409 when none waits."""

    def work() -> tuple[int, BulkFileOut]:
        made = export_bulk_file(uow, cycle_id=cycle_id, provider=provider, actor=user)
        return 201, BulkFileOut(**made, download=f"/v1/bulk-files/{made['id']}")

    with uow:
        path = f"/v1/cycles/{cycle_id}/bulk-files?provider={provider}"
        return run_once(
            uow, principal=user, key=key, request_fingerprint=fingerprint("POST", path, None), work=work
        )


@router.get("/bulk-files/{file_id}", tags=["bulk files"], response_class=Response)
def get_bulk_file(file_id: UUID, user: Operator, uow: UnitOfWorkDep) -> Response:
    """The file as it was handed over (`;`-separated, UTF-8), to upload to the portal."""
    with uow:
        found = uow.bulk_files.file(file_id)
    if found is None:
        raise NotFound(f"no bulk file {file_id}")
    return Response(
        bytes(found["content"]),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="filet-{found["provider"]}-{file_id}.csv"'},
    )


@router.post("/bulk-reports", response_model=BulkReportOut, tags=["bulk files"])
async def post_bulk_report(
    request: Request,
    user: Operator,
    uow: UnitOfWorkDep,
    provider: str = Query(default="orange-bulk", description="the provider whose portal wrote the report"),
    key: IdempotencyKey = None,
) -> Response:
    """Apply a portal report (CSV body as the portal gives it): each line moves its payment as a provider's
    answer would. The same report again changes nothing and answers what the first import did."""
    content = bytearray()
    async for chunk in request.stream():
        content += chunk
        if len(content) > MAX_BULK_REPORT_BYTES:
            raise PayloadTooLarge(
                f"the report is larger than the limit of {MAX_BULK_REPORT_BYTES} bytes",
                details={"max_bytes": MAX_BULK_REPORT_BYTES},
            )
    body = bytes(content)

    def work() -> tuple[int, BulkReportOut]:
        return 200, BulkReportOut(**import_bulk_report(uow, content=body, provider=provider, actor=user))

    def transaction() -> Response:
        with uow:
            return run_once(
                uow,
                principal=user,
                key=key,
                request_fingerprint=fingerprint("POST", f"/v1/bulk-reports?provider={provider}", body),
                work=work,
            )

    return await run_in_threadpool(transaction)


# --- provider callbacks ----------------------------------------------------------------------------------
# Received by `payments.api.callbacks.CallbackEndpoints` (plain ASGI, ahead of this router); read here.


@router.get("/callbacks/unmatched", tags=["callbacks"])
def get_unmatched_callbacks(
    user: Reader,
    uow: UnitOfWorkDep,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> list[dict[str, Any]]:
    """Callbacks kept but not applied: unknown references and discarded ones (bad signature, unreadable)."""
    with uow:
        return uow.callbacks.unmatched(limit=limit, offset=offset)


# --- vouchers and vendors --------------------------------------------------------------------------------


@router.post("/vendors", status_code=201, response_model=VendorOut, tags=["vouchers"])
def post_vendors(body: VendorIn, user: Operator, uow: UnitOfWorkDep, key: IdempotencyKey = None) -> Response:
    """Register a vendor for some programmes; its users hold tokens with role `vendor:<vendor_id>`."""
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/vendors", body),
            work=lambda: (
                201,
                VendorOut(
                    **register_vendor(
                        uow,
                        vendor_id=body.vendor_id,
                        name=body.name,
                        programme_codes=body.programme_codes,
                        actor=user,
                    )
                ),
            ),
        )


@router.get("/cycles/{cycle_id}/vouchers", response_model=VoucherSlipPageOut, tags=["vouchers"])
def get_cycle_vouchers(
    cycle_id: UUID,
    user: Reader,
    uow: UnitOfWorkDep,
    state: str | None = None,
    limit: int = Query(default=100, ge=1, le=1000),
    offset: int = Query(default=0, ge=0),
) -> VoucherSlipPageOut:
    """The cycle's vouchers as a distribution list (code, holder, where), optionally in one state (ISSUED,
    REDEEMED, EXPIRED). A code is worth its amount to whoever holds it: operators and admins, who hand the
    slips out, see whole codes and numbers; auditors and approvers see only their last 4 digits."""
    with uow:
        if uow.cycles.get(cycle_id) is None:
            raise NotFound(f"no cycle {cycle_id}")
        total, rows = uow.vouchers.page(
            cycle_id, state=state.upper() if state else None, limit=limit, offset=offset
        )
    whole = user.kind in {"operator", "admin"}
    items = [
        VoucherSlipOut(
            **{
                **row,
                "code": row["code"] if whole else _last_four(row["code"]),
                "msisdn": row["msisdn"] if whole or row["msisdn"] is None else _last_four(row["msisdn"]),
            }
        )
        for row in rows
    ]
    return VoucherSlipPageOut(total=total, limit=limit, offset=offset, items=items)


def _last_four(digits: str) -> str:
    return "•" * max(len(digits) - 4, 0) + digits[-4:]


@router.get("/vouchers/{code}", response_model=VoucherOut, tags=["vouchers"])
def get_voucher(code: str, user: VoucherReader, uow: UnitOfWorkDep) -> VoucherOut:
    with uow:
        return VoucherOut(**find_voucher(uow, code))


@router.post("/vouchers/{code}/redemptions", status_code=201, response_model=VoucherOut, tags=["vouchers"])
def post_redemptions(
    code: str, body: RedemptionIn, user: Vendor, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """A registered vendor redeems the voucher for its whole value: exactly once, before expiry."""
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", f"/v1/vouchers/{code}/redemptions", body),
            work=lambda: (201, VoucherOut(**redeem_voucher(uow, code=code, amount=body.amount, actor=user))),
        )
