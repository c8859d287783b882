"""Request and response bodies of the enrolment API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from enrolment.domain.geography import normalise_cercle, normalise_region, region_of_cercle
from enrolment.domain.households import HeaCategory, normalise_msisdn, operator_of
from enrolment.domain.programmes import Area, TargetingMethod

Operator = Literal["orange", "moov", "other"]
EnrolmentStatus = Literal["registered", "targeted", "validated", "active", "suspended", "exited"]


class HouseholdIn(BaseModel):
    """One household. Region and cercle are checked against Mali's reference list and stored in their
    official spelling; the phone number is normalised to E.164 (+223 and 8 digits) and its operator inferred."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rsu_id: str = Field(min_length=1, max_length=40, examples=["RSU-KY-000123"])
    head_name: str = Field(min_length=1, max_length=200)
    head_sex: Literal["F", "M"] | None = None
    head_birth_year: int | None = Field(default=None, ge=1900, le=2100)
    nina: str | None = Field(default=None, pattern=r"^\d{14}[A-Z]$", description="14 digits then a letter")
    size: int = Field(ge=1, le=100)
    region: str = Field(min_length=1, examples=["Kayes"])
    cercle: str = Field(min_length=1, examples=["Kita"])
    commune: str = Field(min_length=1, max_length=100)
    village: str | None = Field(default=None, max_length=100)
    msisdn: str | None = Field(default=None, examples=["+22376123401", "76 12 34 01"])
    operator: Operator | None = Field(
        default=None, description="inferred from the number; if given, it must agree with it"
    )
    preferred_modality: Literal["mobile_money", "voucher"] = "mobile_money"
    pmt_score: int | None = Field(default=None, description="PMT score in hundredths (12.34 -> 1234)")
    hea_category: HeaCategory | None = None
    programme_ids: dict[str, str] = Field(default_factory=dict, description="id in other programmes' lists")

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        official = normalise_region(region)
        if official is None:
            raise ValueError(f"unknown region {region!r}")
        return official

    @field_validator("cercle")
    @classmethod
    def _cercle_of_the_region(cls, cercle: str, info: ValidationInfo) -> str:
        region = info.data.get("region")
        if region is None:
            return cercle
        official = normalise_cercle(region, cercle)
        if official is not None:
            return official
        elsewhere = region_of_cercle(cercle)
        if elsewhere is not None:
            raise ValueError(f"cercle {cercle!r} is in region {elsewhere}, not {region}")
        raise ValueError(f"unknown cercle {cercle!r} in region {region}")

    @field_validator("msisdn")
    @classmethod
    def _malian_mobile(cls, msisdn: str | None) -> str | None:
        return normalise_msisdn(msisdn) if msisdn else None

    @model_validator(mode="after")
    def _operator_of_the_number(self) -> HouseholdIn:
        if self.msisdn is None:
            if self.preferred_modality == "mobile_money":
                raise ValueError("msisdn is required for mobile money")
            self.operator = None
            return self
        inferred = operator_of(self.msisdn)
        if self.operator is not None and self.operator != inferred:
            raise ValueError(f"{self.msisdn} is a {inferred} number, not {self.operator}")
        self.operator = inferred
        return self


class HouseholdChangeIn(BaseModel):
    """New facts for a household; only the fields given change. A new phone number starts a new period of
    payment details from `effective_from` (today by default)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    head_name: str | None = Field(default=None, min_length=1, max_length=200)
    size: int | None = Field(default=None, ge=1, le=100)
    village: str | None = Field(default=None, max_length=100)
    msisdn: str | None = None
    preferred_modality: Literal["mobile_money", "voucher"] | None = None
    pmt_score: int | None = None
    hea_category: HeaCategory | None = None
    effective_from: date | None = None

    @field_validator("msisdn")
    @classmethod
    def _malian_mobile(cls, msisdn: str | None) -> str | None:
        return normalise_msisdn(msisdn) if msisdn else None


class PossibleDuplicateOut(BaseModel):
    candidate_id: int
    duplicate_of: UUID
    reason: str
    score: int


class HouseholdOut(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    rsu_id: str
    head_name: str
    head_sex: str | None
    head_birth_year: int | None
    nina: str | None
    size: int
    region: str
    cercle: str
    commune: str
    village: str | None
    msisdn: str | None
    operator: Operator | None
    preferred_modality: str
    pmt_score: int | None
    hea_category: str | None
    programme_ids: dict[str, str] = Field(default_factory=dict)
    status: Literal["registered", "merged"] = "registered"
    merged_into: UUID | None = None
    created_at: datetime
    updated_at: datetime
    possible_duplicates: list[PossibleDuplicateOut] = Field(default_factory=list)


class PageLinks(BaseModel):
    next: str | None = Field(description="the next page, or null on the last one")


class HouseholdPage(BaseModel):
    items: list[HouseholdOut]
    links: PageLinks


class ProgrammeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(examples=["JIGISEMEJIRI"], description="upper case letters, digits and _")
    name: str
    zone: list[Area] = Field(min_length=1, description="regions, cercles of a region or communes of a cercle")
    duration_months: int = Field(ge=1, le=120, description="how long a household stays after activation")
    targeting_method: TargetingMethod
    capacity: int | None = Field(default=None, ge=1, description="most households enrolled at once")


class ProgrammeOut(BaseModel):
    code: str
    name: str
    zone: list[Area]
    duration_months: int
    targeting_method: TargetingMethod
    capacity: int | None
    enrolled: int = Field(description="households enrolled now (every status but exited)")
    created_at: datetime


class HouseholdFilter(BaseModel):
    """Which registered households to enrol: where they live, and optionally a refocusing criterion."""

    model_config = ConfigDict(extra="forbid")

    region: str | None = None
    cercle: str | None = None
    commune: str | None = None
    max_pmt_score: int | None = Field(default=None, description="refocusing: PMT score at most (hundredths)")
    hea_categories: list[HeaCategory] | None = Field(default=None, description="refocusing: HEA groups")


class TemporaryIn(BaseModel):
    """Horizontal expansion: enrolled because of a shock, until a date (inclusive) or for a number of cycles."""

    model_config = ConfigDict(extra="forbid")

    shock: str = Field(min_length=1, examples=["inondations de Mopti 2026"])
    ends_on: date | None = None
    max_cycles: int | None = Field(default=None, ge=1)


class EnrolmentsIn(BaseModel):
    """Enrol households in a programme: a list of household ids, or a filter (exactly one of the two)."""

    model_config = ConfigDict(extra="forbid")

    programme: str
    household_ids: list[UUID] | None = Field(default=None, max_length=200_000)
    filter: HouseholdFilter | None = None
    temporary: TemporaryIn | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> EnrolmentsIn:
        if (self.household_ids is None) == (self.filter is None):
            raise ValueError("give household_ids or filter, one of the two")
        return self


class EnrolmentOut(BaseModel):
    id: UUID
    household_id: UUID
    programme_code: str
    status: EnrolmentStatus
    registered_at: datetime
    started_on: date | None
    validated_by: str | None
    validated_at: datetime | None
    validated_where: str | None
    exit_reason: str | None
    shock: str | None = None
    ends_on: date | None = None
    max_cycles: int | None = None
    paid_cycles: int | None = None
    allowed: list[EnrolmentStatus] = Field(default_factory=list, description="statuses it may move to now")


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    at: datetime
    by: str
    reason: str | None
    validated_by: str | None
    where: str | None


class EnrolmentDetailOut(EnrolmentOut):
    history: list[TransitionOut]


class EnrolmentPage(BaseModel):
    items: list[EnrolmentOut]
    links: PageLinks


class EnrolledOut(BaseModel):
    programme: str
    enrolled: int = Field(description="new enrolments (status registered)")
    already_enrolled: int = Field(
        description="households already enrolled in the programme, left as they were"
    )
    enrolment_ids: list[UUID]


class ValidationIn(BaseModel):
    """The community's validation of the list: who (committee, chief), when, where."""

    model_config = ConfigDict(extra="forbid")

    who: str = Field(min_length=1, examples=["comité villageois de Sirakoro"])
    when: AwareDatetime
    where: str = Field(min_length=1, examples=["assemblée villageoise de Sirakoro"])


Action = Literal["target", "validate", "activate", "suspend", "exit"]


class TransitionIn(BaseModel):
    """A move: `validate` needs `validation`; `suspend` and `exit` need a `reason`."""

    model_config = ConfigDict(extra="forbid")

    action: Action
    reason: str | None = None
    validation: ValidationIn | None = None
    at: AwareDatetime | None = Field(default=None, description="when it happened; now by default")

    @model_validator(mode="after")
    def _what_each_action_needs(self) -> TransitionIn:
        if self.action == "validate" and self.validation is None:
            raise ValueError("validate needs the community validation (who, when, where)")
        if self.action in ("suspend", "exit") and not (self.reason or "").strip():
            raise ValueError(f"{self.action} needs a reason")
        return self


class EnrolmentSelection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    programme: str
    status: EnrolmentStatus | None = None
    region: str | None = None
    cercle: str | None = None
    commune: str | None = None


class BulkTransitionIn(TransitionIn):
    """The same move for many enrolments: a list of enrolment ids, or a selection (exactly one)."""

    enrolment_ids: list[UUID] | None = Field(default=None, max_length=200_000)
    selection: EnrolmentSelection | None = None

    @model_validator(mode="after")
    def _one_selection(self) -> BulkTransitionIn:
        if (self.enrolment_ids is None) == (self.selection is None):
            raise ValueError("give enrolment_ids or selection, one of the two")
        return self


class RefusedMove(BaseModel):
    enrolment_id: UUID
    status: str
    allowed: list[str]


class BulkTransitionOut(BaseModel):
    action: Action
    moved: int
    refused: list[RefusedMove] = Field(
        description="enrolments the move is not allowed for, with allowed moves"
    )


class SweepOut(BaseModel):
    exited: int
    reasons: dict[str, int] = Field(description="how many exits for each reason")


class ImportRowOut(BaseModel):
    row_number: int
    outcome: Literal["accepted", "rejected", "duplicate"]
    rsu_id: str | None
    household_id: UUID | None
    field: str | None
    reason: str | None
    duplicate_of: UUID | None


class ImportOut(BaseModel):
    id: UUID
    format: Literal["csv", "jsonl"]
    strict: bool
    sha256: str
    size_bytes: int
    status: Literal["queued", "running", "completed", "failed", "rolled_back"]
    rows_total: int | None = Field(description="lines in the file after the header (an estimate)")
    rows_done: int
    accepted: int
    rejected: int
    duplicates: int = Field(description="rows already registered or possible duplicates of a household")
    error: dict[str, Any] | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class ImportReportOut(ImportOut):
    rows: list[ImportRowOut] = Field(description="the row-by-row report, one page")
    links: PageLinks


class DuplicateOut(BaseModel):
    id: int
    household_id: UUID
    duplicate_of: UUID
    reason: str
    score: int
    status: Literal["open", "confirmed", "dismissed"]
    kept_id: UUID | None
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime


class DuplicatePage(BaseModel):
    items: list[DuplicateOut]
    links: PageLinks


class DecisionIn(BaseModel):
    """`confirm`: the two are one household, `keep` stays (the earlier record by default), the other is merged
    into it; `dismiss`: two households, never proposed again."""

    model_config = ConfigDict(extra="forbid")

    decision: Literal["confirm", "dismiss"]
    keep: UUID | None = None


class OverlapOut(BaseModel):
    region: str
    cercle: str
    commune: str
    programmes: list[str]
    households: int


class OverlapReport(BaseModel):
    households: int = Field(description="households active in two programmes or more")
    by_commune: list[OverlapOut]
