"""Request and response bodies of the payments API (`<Thing>In` / `<Thing>Out`); amounts are integer XOF."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from payments.domain.schemes import Area, Modality, MonthlyRate, SizeSupplement, YearlyTranches
from payments.use_cases.create_cycle import Refocus, ReissueModality

ProgrammeCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]{0,31}$")]
ReferenceCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,2}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SchemeIn(_In):
    """A transfer scheme: e.g. Jigisemejiri `monthly_rate` 10,000 every 3 months, 12 cycles, routed by operator."""

    programme_code: ProgrammeCode
    reference_code: ReferenceCode = Field(description="1-3 characters opening every instruction reference")
    first_period: str = Field(description="the period of cycle 1, e.g. 2026-Q1")
    modality: Modality
    basis: MonthlyRate | YearlyTranches = Field(discriminator="kind")
    cycles: int = Field(ge=1, le=120)
    size_supplement: SizeSupplement | None = None
    routing: dict[str, str] | None = Field(
        default=None, description="mobile operator -> provider (gsma, mtn, wave)"
    )


class SchemeOut(BaseModel):
    id: UUID
    programme_code: str
    first_period: str
    scheme: dict[str, Any]
    created_by: str
    created_at: datetime


class PolicyIn(_In):
    programme_code: ProgrammeCode
    other_code: ProgrammeCode
    action: Literal["allow", "flag", "block"]


class CycleIn(_In):
    programme_code: ProgrammeCode
    period: str = Field(description="e.g. 2026-Q1")
    funding_line: str = Field(min_length=1, max_length=200)
    refocus: Refocus | None = None
    piggyback_of: ProgrammeCode | None = Field(
        default=None, description="programme whose households and rails are used"
    )
    reissue_failed: bool = Field(
        default=False,
        description="add one line per definitive failure (RECIPIENT_NOT_FOUND, RECIPIENT_NOT_ALLOWED, "
        "NAME_MISMATCH) of this programme's earlier cycles not yet re-issued: a new attempt (new reference, "
        "new provider key, `reissue_of` the failed payment) for the failed amount, shown in `summary.reissues` "
        "and flagged `reissue:<code>`, approved and released with the cycle. A failure is re-issued once: "
        "asking again in a later cycle adds nothing for it (unless the cycle holding it is cancelled).",
    )
    reissue_as: ReissueModality | None = Field(
        default=None,
        description="how re-issues are paid: `voucher` (a voucher code, redeemed at a registered vendor) or "
        "`mobile_money` (to the household's current wallet, routed by the scheme); default: the scheme's modality",
    )


class CycleOut(BaseModel):
    id: UUID
    programme_code: str
    period: str
    cycle_no: int
    funding_line: str
    piggyback_of: str | None
    refocus: dict[str, Any] | None
    state: str
    created_by: str
    submitted_by: str | None
    approved_by: str | None
    released_by: str | None
    cancelled_by: str | None
    cancel_reason: str | None
    created_at: datetime
    released_at: datetime | None
    closed_at: datetime | None
    summary: dict[str, Any]
    top_ups: list[dict[str, Any]]


class Figures(BaseModel):
    count: int
    amount: int


class CycleProgressOut(BaseModel):
    """How far a cycle's payments have got: counted by state, nothing else (cheap enough to poll)."""

    cycle_id: UUID
    state: str
    payments: Figures
    open: int = Field(description="payments not yet terminal (in doubt included); the cycle closes at 0")
    by_state: dict[str, Figures]


class TopUpIn(_In):
    """An amount (`fixed_amount`) or a multiplier in integer percent (150 = x1.5) for an area."""

    area: Area
    fixed_amount: StrictInt | None = Field(default=None, gt=0, le=10**12)
    multiplier_percent: StrictInt | None = Field(default=None, gt=100, le=1000)


class CancellationIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class HistoryOut(BaseModel):
    from_state: str | None
    to_state: str
    outcome: str
    reason: str
    source: str
    at: datetime


class PaymentOut(BaseModel):
    id: UUID
    cycle_id: UUID
    household_id: UUID
    instruction_id: str
    attempt_no: int
    reference: str
    provider_request_key: UUID
    modality: str
    provider: str | None
    payee_msisdn: str | None
    amount: int
    base_amount: int
    top_up_amount: int
    currency: Literal["XOF"] = "XOF"
    state: str
    provider_tx_ref: str | None
    failure_code: str | None
    fee: int | None
    needs_query: bool
    reissue_of: UUID | None
    history: list[HistoryOut] = Field(default_factory=list)


class PaymentPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[PaymentOut]


class VendorIn(_In):
    vendor_id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,40}$")
    name: str = Field(min_length=1, max_length=200)
    programme_codes: list[ProgrammeCode] = Field(min_length=1)


class VendorOut(BaseModel):
    vendor_id: str
    name: str
    programme_codes: list[str]
    active: bool


class VoucherOut(BaseModel):
    code: str
    programme_code: str
    amount: int
    currency: Literal["XOF"] = "XOF"
    state: str
    expires_at: datetime
    redeemed_by: str | None
    redeemed_at: datetime | None


class VoucherSlipOut(BaseModel):
    """One line of a cycle's voucher distribution list; `code` masked but for its last 4 digits for auditors."""

    code: str
    reference: str
    programme_code: str
    amount: int
    currency: Literal["XOF"] = "XOF"
    state: str
    expires_at: datetime
    household_id: UUID
    head_name: str | None
    msisdn: str | None
    region: str | None
    cercle: str | None
    commune: str | None
    redeemed_by: str | None
    redeemed_at: datetime | None


class VoucherSlipPageOut(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[VoucherSlipOut]


class BulkFileOut(BaseModel):
    """A file of payments handed to an operator for a provider's portal; `download` gives it again."""

    id: UUID
    cycle_id: UUID
    provider: str
    payments: int
    amount: int
    currency: Literal["XOF"] = "XOF"
    download: str


class BulkReportOut(BaseModel):
    """What a portal report did: the payments it moved, by their state now; what it could not use, and why."""

    id: UUID
    provider: str
    lines: int
    payments: dict[str, int]
    conflicts: int
    unknown_references: list[str]
    skipped: list[dict[str, Any]]
    duplicate: bool


class RedemptionIn(_In):
    amount: StrictInt = Field(gt=0, le=10**12)


class MembershipCountsOut(BaseModel):
    programme_code: str
    active: int = Field(description="households a cycle created now would pay")
    by_status: dict[str, int]
