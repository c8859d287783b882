"""Thin routes of the enrolment API: authenticate, open the unit of work, call a use case, commit."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from enrolment.api import uploads
from enrolment.api.dependencies import IdempotencyKey, ImportRunnerDep, Reader, UnitOfWorkDep, Writer
from enrolment.api.schemas import (
    BulkTransitionIn,
    BulkTransitionOut,
    DecisionIn,
    DuplicateOut,
    DuplicatePage,
    EnrolledOut,
    EnrolmentDetailOut,
    EnrolmentOut,
    EnrolmentPage,
    EnrolmentsIn,
    EnrolmentStatus,
    HouseholdChangeIn,
    HouseholdIn,
    HouseholdOut,
    HouseholdPage,
    ImportOut,
    ImportReportOut,
    ImportRowOut,
    OverlapOut,
    OverlapReport,
    PageLinks,
    ProgrammeIn,
    ProgrammeOut,
    SweepOut,
    TransitionIn,
)
from enrolment.domain.enrolments import CommunityValidation, Enrolment, Refocusing, TemporaryEnrolment
from enrolment.domain.geography import normalise_region
from enrolment.domain.imports import read_csv, read_json_lines
from enrolment.domain.programmes import Programme
from enrolment.use_cases.change_household import change_household
from enrolment.use_cases.create_programme import create_programme
from enrolment.use_cases.decide_duplicate import decide_duplicate
from enrolment.use_cases.end_enrolments import sweep_enrolments
from enrolment.use_cases.enrol_households import enrol_households, known_programme
from enrolment.use_cases.move_enrolments import Move, Selection, move_enrolment, move_enrolments
from enrolment.use_cases.register_household import register_household
from shared.errors import InvalidInput, NotFound
from shared.http.errors import ApiError
from shared.http.idempotency import fingerprint, run_once

programmes = APIRouter(prefix="/v1", tags=["programmes"])
households = APIRouter(prefix="/v1", tags=["households"])
imports = APIRouter(prefix="/v1", tags=["household imports"])
enrolments = APIRouter(prefix="/v1", tags=["enrolments"])
duplicates = APIRouter(prefix="/v1", tags=["duplicates"])
reports = APIRouter(prefix="/v1", tags=["reports"])
routers = [programmes, households, imports, enrolments, duplicates, reports]

Limit = Annotated[int, Query(ge=1, le=1000, description="items per page")]


def _next(request: Request, items: list[Any], limit: int, cursor: Any) -> PageLinks:
    """The link to the page after this one (keyset on `cursor` of the last item), or None on the last page."""
    if len(items) < limit:
        return PageLinks(next=None)
    return PageLinks(next=str(request.url.include_query_params(after=str(cursor))))


def _now() -> datetime:
    return datetime.now(UTC)


# --- programmes ------------------------------------------------------------------------------------------


def _programme_out(uow: UnitOfWorkDep, row: dict[str, Any]) -> ProgrammeOut:
    return ProgrammeOut(**row, enrolled=uow.programmes.enrolled(row["code"]))


@programmes.post("/programmes", status_code=201, response_model=ProgrammeOut)
def post_programme(
    body: ProgrammeIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Create a programme (code, zone, duration, targeting method, capacity); 409 if the code is taken."""
    try:
        programme = Programme.model_validate(body.model_dump() | {"zone": tuple(body.zone)})
    except ValueError as error:
        raise InvalidInput(str(error)) from None

    def work() -> tuple[int, ProgrammeOut]:
        create_programme(uow, programme=programme, actor=user)
        row = uow.programmes.row(programme.code)
        assert row is not None
        return 201, _programme_out(uow, row)

    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/programmes", body),
            work=work,
        )


@programmes.get("/programmes", response_model=list[ProgrammeOut])
def get_programmes(user: Reader, uow: UnitOfWorkDep) -> list[ProgrammeOut]:
    with uow:
        return [_programme_out(uow, row) for row in uow.programmes.all()]


@programmes.get("/programmes/{code}", response_model=ProgrammeOut)
def get_programme(code: str, user: Reader, uow: UnitOfWorkDep) -> ProgrammeOut:
    with uow:
        row = uow.programmes.row(code)
        if row is None:
            raise NotFound(f"no programme {code!r}")
        return _programme_out(uow, row)


# --- households ------------------------------------------------------------------------------------------


@households.post("/households", status_code=201, response_model=HouseholdOut)
def post_household(
    body: HouseholdIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Register one household; 409 naming the household when its RSU id is registered already. Possible
    duplicates (same NINA, same phone, similar head in the same village) are queued for review and listed."""
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/households", body),
            work=lambda: (
                201,
                HouseholdOut.model_validate(register_household(uow, facts=body.model_dump(), actor=user)),
            ),
        )


@households.get("/households/{household_id}", response_model=HouseholdOut)
def get_household(household_id: UUID, user: Reader, uow: UnitOfWorkDep) -> HouseholdOut:
    with uow:
        row = uow.households.get(household_id)
    if row is None:
        raise NotFound(f"no household {household_id}")
    return HouseholdOut.model_validate(row)


@households.patch("/households/{household_id}", response_model=HouseholdOut)
def patch_household(
    household_id: UUID, body: HouseholdChangeIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Change a household's facts (`household.updated`); a new phone number is also recorded in the payment
    details history from `effective_from` (`household.payment_details_changed`)."""
    changes = body.model_dump(exclude_unset=True, exclude={"effective_from"})
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("PATCH", f"/v1/households/{household_id}", body),
            work=lambda: (
                200,
                HouseholdOut.model_validate(
                    change_household(
                        uow,
                        household_id=household_id,
                        changes=changes,
                        effective_from=body.effective_from or _now().date(),
                        actor=user,
                    )
                ),
            ),
        )


@households.get("/households", response_model=HouseholdPage)
def get_households(
    request: Request,
    user: Reader,
    uow: UnitOfWorkDep,
    region: str | None = None,
    commune: str | None = None,
    programme: Annotated[str | None, Query(description="households enrolled (not exited) in it")] = None,
    status: Annotated[
        str | None,
        Query(
            description="with `programme`: the enrolment status; without: the household's (registered|merged)"
        ),
    ] = None,
    after: Annotated[UUID | None, Query(description="cursor: the last id of the previous page")] = None,
    limit: Limit = 100,
) -> HouseholdPage:
    official = normalise_region(region) if region is not None else None
    if region is not None and official is None:
        raise InvalidInput(f"unknown region {region!r}")
    with uow:
        rows = uow.households.search(
            region=official, commune=commune, programme=programme, status=status, after=after, limit=limit
        )
    items = [HouseholdOut.model_validate(row) for row in rows]
    return HouseholdPage(items=items, links=_next(request, items, limit, items[-1].id if items else None))


# --- household imports -----------------------------------------------------------------------------------

FORMATS = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
    "application/x-jsonlines": "jsonl",
}

_IMPORT_BODY = {
    "requestBody": {
        "required": True,
        "description": "A CSV file (`;` or `,`, French or canonical headers) or JSON lines, UTF-8.",
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary"}},
            "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}},
        },
    }
}


def _check_header(upload: uploads.Upload, fmt: str) -> None:
    """File-level problems (empty, missing or unknown columns) refuse the upload at once (422)."""
    with upload.path.open("rb") as file:
        read_csv(file) if fmt == "csv" else read_json_lines(file)


@imports.post("/household-imports", status_code=202, response_model=ImportOut, openapi_extra=_IMPORT_BODY)
async def post_household_import(
    request: Request,
    user: Writer,
    uow: UnitOfWorkDep,
    runner: ImportRunnerDep,
    strict: Annotated[
        bool, Query(description="all or nothing: one refused row and nothing is imported")
    ] = False,
    key: IdempotencyKey = None,
) -> Response:
    """Import households as a job, answered at once (202) and processed in the background; follow it with
    `GET /v1/household-imports/{id}`. The body streams to a temporary file. Rows whose RSU id is registered
    already change nothing, so importing the same file again (or twice at once) registers nothing twice."""
    media = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    fmt = FORMATS.get(media)
    if fmt is None:
        raise ApiError(
            415,
            "unsupported_media_type",
            "send text/csv or application/x-ndjson (JSON lines)",
            {"accepted": sorted(FORMATS)},
        )
    upload = await uploads.receive(request, limit=request.app.state.settings.max_body_bytes)
    started = False
    try:
        await run_in_threadpool(_check_header, upload, fmt)
        job_id = uuid.uuid4()

        def work() -> tuple[int, ImportOut]:
            uow.imports.add(
                {
                    "id": job_id,
                    "format": fmt,
                    "strict": strict,
                    "sha256": upload.sha256,
                    "size_bytes": upload.size,
                    "status": "queued",
                    "rows_total": max(upload.lines - (1 if fmt == "csv" else 0), 0),
                    "created_by": user.name,
                }
            )
            row = uow.imports.get(job_id)
            assert row is not None
            return 202, ImportOut.model_validate(row)

        def create() -> Response:
            with uow:
                return run_once(
                    uow,
                    principal=user,
                    key=key,
                    request_fingerprint=f"POST /v1/household-imports?strict={strict} {fmt} {upload.sha256}",
                    work=work,
                )

        response = await run_in_threadpool(create)
        if "Idempotent-Replayed" not in response.headers:
            runner.start(job_id, upload.path, fmt=fmt, strict=strict, actor=user)
            started = True
        response.headers["Location"] = f"/v1/household-imports/{job_id}"
        return response
    finally:
        if not started:
            upload.path.unlink(missing_ok=True)


@imports.get("/household-imports/{import_id}", response_model=ImportReportOut)
def get_household_import(
    request: Request,
    import_id: UUID,
    user: Reader,
    uow: UnitOfWorkDep,
    outcome: Annotated[str | None, Query(pattern="^(accepted|rejected|duplicate)$")] = None,
    after: Annotated[int, Query(ge=0, description="cursor: the last row number of the previous page")] = 0,
    limit: Limit = 100,
) -> ImportReportOut:
    """The job's progress (status, rows done of total, counts), and a page of its row-by-row report."""
    with uow:
        job = uow.imports.get(import_id)
        if job is None:
            raise NotFound(f"no household import {import_id}")
        rows = uow.imports.report_page(import_id, outcome=outcome, after=after, limit=limit)
    items = [ImportRowOut.model_validate(row) for row in rows]
    links = _next(request, items, limit, items[-1].row_number if items else None)
    return ImportReportOut(**job, rows=items, links=links)


# --- enrolments ------------------------------------------------------------------------------------------


def _enrolment_out(row: dict[str, Any]) -> EnrolmentOut:
    allowed = list(
        Enrolment(
            row["household_id"], row["programme_code"], row["registered_at"], status=row["status"]
        ).allowed()
    )
    return EnrolmentOut.model_validate({**row, "allowed": allowed})


@enrolments.post("/enrolments", status_code=201, response_model=EnrolledOut)
def post_enrolments(
    body: EnrolmentsIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Enrol households in a programme, as a list of ids or a filter (region, cercle, commune; refocusing by PMT
    threshold or HEA groups), within the programme's zone and capacity (409 past it). With `temporary`
    (horizontal expansion), the enrolment carries its shock and ends on `ends_on` or after `max_cycles` paid
    cycles. An unknown programme is a 422 naming the known ones."""
    chosen = body.filter
    refocusing = None
    if chosen is not None and (chosen.max_pmt_score is not None or chosen.hea_categories):
        refocusing = Refocusing(chosen.max_pmt_score, frozenset(chosen.hea_categories or ()))
    temporary = (
        TemporaryEnrolment(body.temporary.shock, body.temporary.ends_on, body.temporary.max_cycles)
        if body.temporary
        else None
    )
    area = chosen.model_dump(include={"region", "cercle", "commune"}, exclude_none=True) if chosen else None

    def work() -> tuple[int, EnrolledOut]:
        result = enrol_households(
            uow,
            programme_code=body.programme,
            household_ids=body.household_ids,
            area=area,
            refocusing=refocusing,
            temporary=temporary,
            at=_now(),
            actor=user,
        )
        return 201, EnrolledOut(
            programme=body.programme,
            enrolled=len(result.enrolled),
            already_enrolled=result.already_enrolled,
            enrolment_ids=result.enrolled,
        )

    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/enrolments", body),
            work=work,
        )


@enrolments.get("/enrolments", response_model=EnrolmentPage)
def get_enrolments(
    request: Request,
    user: Reader,
    uow: UnitOfWorkDep,
    programme: str | None = None,
    status: EnrolmentStatus | None = None,
    after: Annotated[UUID | None, Query(description="cursor: the last id of the previous page")] = None,
    limit: Limit = 100,
) -> EnrolmentPage:
    with uow:
        rows = uow.enrolments.page(programme=programme, status=status, after=after, limit=limit)
    items = [_enrolment_out(row) for row in rows]
    return EnrolmentPage(items=items, links=_next(request, items, limit, items[-1].id if items else None))


@enrolments.get("/enrolments/{enrolment_id}", response_model=EnrolmentDetailOut)
def get_enrolment(enrolment_id: UUID, user: Reader, uow: UnitOfWorkDep) -> EnrolmentDetailOut:
    """One enrolment with its whole history (who moved it, when, where, why)."""
    with uow:
        row = uow.enrolments.row(enrolment_id)
        if row is None:
            raise NotFound(f"no enrolment {enrolment_id}")
        history = uow.enrolments.history(enrolment_id)
    return EnrolmentDetailOut.model_validate({**_enrolment_out(row).model_dump(), "history": history})


def _move(body: TransitionIn, user: Writer) -> Move:
    validation = None
    if body.validation is not None:
        validation = CommunityValidation(body.validation.who, body.validation.when, body.validation.where)
    return Move(body.action, body.at or _now(), user.name, body.reason, validation)


@enrolments.post("/enrolments/transitions", response_model=BulkTransitionOut)
def post_bulk_transition(
    body: BulkTransitionIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """The same move for many enrolments, by `enrolment_ids` or by `selection` (programme, status, region,
    cercle, commune). Enrolments whose status does not allow it are listed in `refused` with their allowed
    moves; the others move, in one transaction, published as batch events."""
    move = _move(body, user)

    def work() -> tuple[int, BulkTransitionOut]:
        if body.enrolment_ids is not None:
            selection = Selection(enrolment_ids=body.enrolment_ids)
            subject = "enrolments"
        else:
            chosen = body.selection
            assert chosen is not None
            known_programme(uow, chosen.programme)
            selection = Selection(
                programme=chosen.programme,
                status=chosen.status,
                region=normalise_region(chosen.region) if chosen.region else None,
                cercle=chosen.cercle,
                commune=chosen.commune,
            )
            subject = f"programme/{chosen.programme}"
        result = move_enrolments(uow, selection=selection, move=move, actor=user, subject=subject)
        return 200, BulkTransitionOut.model_validate(
            {"action": body.action, "moved": result.moved, "refused": result.refused}
        )

    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", "/v1/enrolments/transitions", body),
            work=work,
        )


@enrolments.post("/enrolments/sweeps", response_model=SweepOut)
def post_sweep(user: Writer, uow: UnitOfWorkDep) -> SweepOut:
    """Exit every enrolment whose programme duration has passed since its activation, or whose temporary
    enrolment passed its end date; published as `enrolments.exited`. Safe to run at any time (e.g. daily)."""
    with uow:
        reasons: Counter[str] = sweep_enrolments(uow, at=_now(), actor=user)
        uow.commit()
    return SweepOut(exited=sum(reasons.values()), reasons=dict(reasons))


@enrolments.post("/enrolments/{enrolment_id}/transitions", response_model=EnrolmentOut)
def post_transition(
    enrolment_id: UUID, body: TransitionIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Move one enrolment: target, validate (the community's: who, when, where), activate, suspend or exit
    (with a reason). A move its status does not allow is a 409 whose details list the allowed ones."""
    move = _move(body, user)

    def work() -> tuple[int, EnrolmentOut]:
        move_enrolment(uow, enrolment_id=enrolment_id, move=move, actor=user)
        row = uow.enrolments.row(enrolment_id)
        assert row is not None
        return 200, _enrolment_out(row)

    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", f"/v1/enrolments/{enrolment_id}/transitions", body),
            work=work,
        )


# --- duplicates ------------------------------------------------------------------------------------------


@duplicates.get("/duplicates", response_model=DuplicatePage)
def get_duplicates(
    request: Request,
    user: Reader,
    uow: UnitOfWorkDep,
    status: Annotated[str | None, Query(pattern="^(open|confirmed|dismissed)$")] = "open",
    after: Annotated[int, Query(ge=0, description="cursor: the last id of the previous page")] = 0,
    limit: Limit = 100,
) -> DuplicatePage:
    """The review queue of possible duplicates (open ones by default)."""
    with uow:
        rows = uow.duplicates.page(status=status, after=after, limit=limit)
    items = [DuplicateOut.model_validate(row) for row in rows]
    return DuplicatePage(items=items, links=_next(request, items, limit, items[-1].id if items else None))


@duplicates.post("/duplicates/{candidate_id}/decision", response_model=DuplicateOut)
def post_decision(
    candidate_id: int, body: DecisionIn, user: Writer, uow: UnitOfWorkDep, key: IdempotencyKey = None
) -> Response:
    """Confirm: the duplicate is merged into the kept household, its enrolments exit, and
    `household.duplicate_confirmed` is published. Dismiss: the pair is never proposed again."""
    with uow:
        return run_once(
            uow,
            principal=user,
            key=key,
            request_fingerprint=fingerprint("POST", f"/v1/duplicates/{candidate_id}/decision", body),
            work=lambda: (
                200,
                DuplicateOut.model_validate(
                    decide_duplicate(
                        uow,
                        candidate_id=candidate_id,
                        decision=body.decision,
                        keep=body.keep,
                        at=_now(),
                        actor=user,
                    )
                ),
            ),
        )


# --- reports ---------------------------------------------------------------------------------------------


@reports.get("/reports/overlaps", response_model=OverlapReport)
def get_overlaps(user: Reader, uow: UnitOfWorkDep, region: str | None = None) -> OverlapReport:
    """Households active in two programmes or more, by commune and set of programmes."""
    official = normalise_region(region) if region is not None else None
    if region is not None and official is None:
        raise InvalidInput(f"unknown region {region!r}")
    with uow:
        rows = uow.enrolments.overlaps(region=official)
    by_commune = [OverlapOut(**{**row, "programmes": row["programmes"].split("+")}) for row in rows]
    return OverlapReport(households=sum(o.households for o in by_commune), by_commune=by_commune)
