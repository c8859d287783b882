"""Create a payment cycle: entitlements computed set-based in SQL from memberships and beneficiaries, plus, if
asked, one line re-issuing each definitive failure of the programme's earlier cycles (never twice)."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.payments import FailureCode
from payments.domain.schemes import Period, TransferScheme
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput
from shared.events.contracts import CycleCreated


class Refocus(BaseModel):
    """Refocusing: only the most vulnerable — PMT score at most `max_score`, or HEA in `categories`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Literal["PMT", "HEA"]
    max_score: int | None = Field(default=None, ge=0)
    categories: list[str] | None = Field(default=None, min_length=1)

    def checked(self) -> Refocus:
        if self.method == "PMT" and (self.max_score is None or self.categories is not None):
            raise InvalidInput("a PMT refocusing gives max_score (and no categories)")
        if self.method == "HEA" and (self.categories is None or self.max_score is not None):
            raise InvalidInput("an HEA refocusing gives categories (and no max_score)")
        return self


#: Failures that no resend can cure (the recipient is unknown, blocked, or not the named person): listed for a
#: follow-up and re-issued by a later cycle when its operator asks, possibly as a voucher.
REISSUABLE_FAILURES = (
    FailureCode.RECIPIENT_NOT_FOUND,
    FailureCode.RECIPIENT_NOT_ALLOWED,
    FailureCode.NAME_MISMATCH,
)

ReissueModality = Literal["voucher", "mobile_money"]


def current_scheme(uow: PaymentsUnitOfWork, programme_code: str) -> tuple[dict[str, Any], TransferScheme]:
    row = uow.schemes.current(programme_code)
    if row is None:
        raise InvalidInput(
            f"programme {programme_code} has no transfer scheme: define one first (POST /v1/schemes)",
            details={"programme_code": programme_code},
        )
    return row, TransferScheme.model_validate(row["body"]["scheme"])


def create_cycle(
    uow: PaymentsUnitOfWork,
    *,
    programme_code: str,
    period: str,
    funding_line: str,
    refocus: Refocus | None,
    piggyback_of: str | None,
    actor: Principal,
    reissue_failed: bool = False,
    reissue_as: ReissueModality | None = None,
) -> UUID:
    scheme_row, scheme = current_scheme(uow, programme_code)
    parsed = Period.parse(period)
    first = Period.parse(scheme_row["first_period"])
    if parsed.kind is not first.kind:
        raise InvalidInput(f"the scheme of {programme_code} pays per {first.kind.name.lower()}, not {period}")
    cycle_no = parsed.index_from(first) + 1
    base = scheme.cycle_amount(cycle_no=cycle_no).amount  # refuses a period outside the scheme's cycles
    if scheme.size_supplement is not None:
        base = scheme.basis.cycle_amount(cycle_no)
    if piggyback_of == programme_code:
        raise InvalidInput("a cycle cannot piggyback on its own programme")
    live = uow.cycles.live_cycle_for(programme_code, str(parsed))
    if live is not None:
        raise Conflict(
            f"{programme_code} already has a cycle for {parsed} (it is {live['state']})",
            details={"cycle_id": str(live["id"]), "state": live["state"]},
        )
    cycle_id = uuid4()
    refocus = refocus.checked() if refocus is not None else None
    uow.cycles.add(
        {
            "id": cycle_id,
            "programme_code": programme_code,
            "period": str(parsed),
            "cycle_no": cycle_no,
            "funding_line": funding_line,
            "piggyback_of": piggyback_of,
            "refocus": refocus.model_dump(exclude_none=True) if refocus else None,
            "scheme_id": scheme_row["id"],
            "created_by": actor.name,
        }
    )
    supplement = scheme.size_supplement
    uow.cycles.compute_entitlements(
        cycle_id=cycle_id,
        programme_code=programme_code,
        source_code=piggyback_of or programme_code,
        period_start=parsed.first_day,
        modality=scheme.modality.value,
        base=base,
        per_member=supplement.per_member if supplement else None,
        cap=supplement.cap if supplement else None,
        routes=scheme.routing.routes if scheme.routing else {},
        pmt_max=refocus.max_score if refocus else None,
        hea_categories=refocus.categories if refocus else None,
    )
    reissues = 0
    if reissue_failed:
        reissues = uow.cycles.add_reissues(
            cycle_id=cycle_id,
            programme_code=programme_code,
            failure_codes=[code.value for code in REISSUABLE_FAILURES],
            modality=reissue_as or scheme.modality.value,
            routes=scheme.routing.routes if scheme.routing else {},
        )
    elif reissue_as is not None:
        raise InvalidInput("reissue_as goes with reissue_failed: true")
    count, amount, blocked = uow.cycles.totals(cycle_id)
    uow.publish(
        CycleCreated(
            cycle_id=cycle_id,
            programme_code=programme_code,
            period=str(parsed),
            funding_line=funding_line,
            piggyback_of=piggyback_of,
            created_by=actor.name,
            planned_count=count,
            planned_amount=amount,
        ),
        subject=str(cycle_id),
    )
    record_action(
        uow,
        actor=actor,
        action="cycle.create",
        subject=f"cycle/{cycle_id}",
        after={
            "programme_code": programme_code,
            "period": str(parsed),
            "count": count,
            "amount": amount,
            "blocked": blocked,
            "reissues": reissues,
        },
    )
    return cycle_id
