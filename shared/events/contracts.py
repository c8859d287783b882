"""The data of every event filet publishes: frozen pydantic models, one per past-tense event type."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.money import Amount, Currency


class Contract(BaseModel):
    """Base of event data: immutable, and strict about unknown fields so typos do not pass silently."""

    model_config = ConfigDict(frozen=True, extra="forbid")


# --- enrolment -------------------------------------------------------------------------------------------

Modality = Literal["mobile_money", "voucher"]
Operator = Literal["orange", "moov", "other"]


class HouseholdFacts(Contract):
    """What the other services may know of a household (its payee and where it lives)."""

    household_id: UUID
    rsu_id: str
    head_name: str
    msisdn: str | None = Field(default=None, description="E.164, +223 and 8 digits")
    operator: Operator | None = None
    preferred_modality: Modality = "mobile_money"
    size: int = Field(ge=1)
    region: str
    cercle: str
    commune: str
    village: str | None = None
    pmt_score: int | None = Field(default=None, description="PMT score in hundredths (no floats)")
    hea_category: str | None = None


class HouseholdRegistered(HouseholdFacts):
    """A household entered the registry (one at a time, through the API)."""


class HouseholdsRegistered(Contract):
    """Many households entered the registry at once (an import); the high-volume form."""

    import_id: UUID | None = None
    items: list[HouseholdFacts]


class HouseholdUpdated(HouseholdFacts):
    """A household's facts changed; carries the whole new state."""


class PaymentDetailsChanged(Contract):
    household_id: UUID
    msisdn: str | None
    operator: Operator | None
    effective_from: date
    previous_msisdn: str | None = None


class DuplicateConfirmed(Contract):
    """Two records are one household: `duplicate_id` is merged into `kept_id` and must never be paid."""

    kept_id: UUID
    duplicate_id: UUID
    decided_by: str


EnrolmentStatus = Literal["registered", "targeted", "validated", "active", "suspended", "exited"]


class EnrolmentItem(Contract):
    enrolment_id: UUID
    household_id: UUID
    status: EnrolmentStatus
    effective_at: datetime
    reason: str | None = None
    shock: str | None = Field(default=None, description="named shock of a temporary enrolment")
    ends_on: date | None = None
    max_cycles: int | None = None


class EnrolmentsChanged(Contract):
    """Enrolments of one programme moved to a new status (a batch: bulk transitions are the norm)."""

    programme_code: str
    status: EnrolmentStatus
    items: list[EnrolmentItem]


class EnrolmentsActivated(EnrolmentsChanged):
    """Households became payable in a programme (status `active`)."""


class EnrolmentsSuspended(EnrolmentsChanged):
    """Households stop being paid until re-activated (status `suspended`)."""


class EnrolmentsExited(EnrolmentsChanged):
    """Households left the programme for good (status `exited`), by decision, programme end or shock end."""


# --- audit (every service) -------------------------------------------------------------------------------


class AuditRecorded(Contract):
    """Who did what, when, with the state before and after; reconciliation chains these into its trail."""

    occurred_at: datetime
    service: str
    actor: str
    role: str
    action: str
    subject: str
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None


# --- payments --------------------------------------------------------------------------------------------

PaymentModality = Literal["mobile_money", "voucher"]


class CycleCreated(Contract):
    cycle_id: UUID
    programme_code: str
    period: str = Field(description="e.g. 2026-Q1")
    funding_line: str
    piggyback_of: str | None = Field(
        default=None, description="programme whose households and rails are used"
    )
    created_by: str
    planned_count: int
    planned_amount: Amount
    currency: Currency = "XOF"


class CycleApproved(Contract):
    cycle_id: UUID
    approved_by: str


class CycleReleased(Contract):
    cycle_id: UUID
    programme_code: str
    period: str
    released_by: str
    count: int
    amount: Amount
    currency: Currency = "XOF"
    household_ids: list[UUID] = Field(default_factory=list, description="households paid in this cycle")


class CycleCancelled(Contract):
    cycle_id: UUID
    cancelled_by: str
    reason: str


class CycleClosed(Contract):
    cycle_id: UUID
    counts: dict[str, int]
    amounts: dict[str, int]


class InstructedPayment(Contract):
    """One instruction as reconciliation needs to know it (the expectation)."""

    payment_id: UUID
    instruction_id: str = Field(max_length=16, description="our reference, SWIFT-X, stable per attempt")
    attempt_no: int = 1
    provider_request_key: str
    household_id: UUID
    payee_msisdn: str | None
    amount: Amount
    base_amount: Amount
    top_up_amount: Amount = 0
    currency: Currency = "XOF"
    provider: str
    modality: PaymentModality
    region: str
    cercle: str
    commune: str
    reissue_of: UUID | None = None


class PaymentsInstructed(Contract):
    cycle_id: UUID
    programme_code: str
    period: str
    items: list[InstructedPayment]


class PaymentOutcome(Contract):
    """What happened to one payment: sent, confirmed, failed, in doubt, reversed, or a status conflict."""

    payment_id: UUID
    instruction_id: str
    state: str = Field(description="canonical state after the event (PROVIDERS.md §8.2)")
    provider: str
    provider_tx_ref: str | None = None
    amount: Amount | None = Field(default=None, description="amount the provider reported, when it did")
    fee: Amount | None = None
    failure_code: str | None = None
    reported_status: str | None = Field(
        default=None, description="for status conflicts: what the provider said"
    )
    authenticity: str | None = None
    at: datetime


class PaymentsSent(Contract):
    cycle_id: UUID
    items: list[PaymentOutcome]


class PaymentsConfirmed(Contract):
    cycle_id: UUID
    items: list[PaymentOutcome]


class PaymentsFailed(Contract):
    cycle_id: UUID
    items: list[PaymentOutcome]


class PaymentsInDoubt(Contract):
    cycle_id: UUID
    items: list[PaymentOutcome]


class PaymentsReversed(Contract):
    cycle_id: UUID
    items: list[PaymentOutcome]


class PaymentsStatusConflicted(Contract):
    cycle_id: UUID
    items: list[PaymentOutcome]


class IssuedVoucher(Contract):
    voucher_id: UUID
    payment_id: UUID
    instruction_id: str
    household_id: UUID
    amount: Amount
    currency: Currency = "XOF"
    expires_at: datetime


class VouchersIssued(Contract):
    cycle_id: UUID
    items: list[IssuedVoucher]


class VoucherRedeemed(Contract):
    voucher_id: UUID
    payment_id: UUID
    cycle_id: UUID
    vendor_id: str
    amount: Amount
    redeemed_at: datetime
    code: str | None = Field(
        default=None,
        description="the spent code (16 digits, check digit last), so vendors' redemption reports can be"
        " matched; absent from events published before it was added",
    )


class VouchersExpired(Contract):
    cycle_id: UUID
    voucher_ids: list[UUID]


# --- reconciliation --------------------------------------------------------------------------------------


class StatementReconciled(Contract):
    statement_id: UUID
    format: str
    account: str
    lines: int
    outcomes: dict[str, int]


class RedemptionReportReconciled(Contract):
    """A vendor's voucher redemption report was imported and matched: its lines per outcome."""

    report_id: UUID
    vendors: list[str]
    lines: int
    rejected_rows: int
    outcomes: dict[str, int]


class FoundDiscrepancy(Contract):
    discrepancy_id: UUID
    cycle_id: UUID | None
    instruction_id: str | None
    category: str
    severity: Literal["info", "warning", "critical"]
    amount_at_stake: Amount
    suggested_action: str


class DiscrepanciesFound(Contract):
    items: list[FoundDiscrepancy]


class DiscrepancyResolved(Contract):
    discrepancy_id: UUID
    resolved_by: str
    resolution: str


class CycleReconciled(Contract):
    cycle_id: UUID
    summary: dict[str, Any]


__all__ = [
    "Amount",
    "AuditRecorded",
    "Currency",
    "CycleApproved",
    "CycleCancelled",
    "CycleClosed",
    "CycleCreated",
    "CycleReconciled",
    "CycleReleased",
    "DiscrepanciesFound",
    "DiscrepancyResolved",
    "DuplicateConfirmed",
    "EnrolmentItem",
    "EnrolmentsActivated",
    "EnrolmentsChanged",
    "EnrolmentsExited",
    "EnrolmentsSuspended",
    "FoundDiscrepancy",
    "HouseholdFacts",
    "HouseholdRegistered",
    "HouseholdUpdated",
    "HouseholdsRegistered",
    "InstructedPayment",
    "IssuedVoucher",
    "PaymentDetailsChanged",
    "PaymentOutcome",
    "PaymentsConfirmed",
    "PaymentsFailed",
    "PaymentsInDoubt",
    "PaymentsInstructed",
    "PaymentsReversed",
    "PaymentsSent",
    "PaymentsStatusConflicted",
    "RedemptionReportReconciled",
    "StatementReconciled",
    "VoucherRedeemed",
    "VouchersExpired",
    "VouchersIssued",
]
