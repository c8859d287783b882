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


__all__ = [
    "Amount",
    "AuditRecorded",
    "Currency",
    "DuplicateConfirmed",
    "EnrolmentItem",
    "EnrolmentsChanged",
    "HouseholdFacts",
    "HouseholdRegistered",
    "HouseholdUpdated",
    "HouseholdsRegistered",
    "PaymentDetailsChanged",
]
