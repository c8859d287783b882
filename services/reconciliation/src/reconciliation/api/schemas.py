"""Request and response bodies of the reconciliation API (`<Thing>In` / `<Thing>Out`)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class CheckOut(BaseModel):
    check: str
    passed: bool
    refuses: bool
    reason: str


class ImportedStatementOut(BaseModel):
    statement_id: UUID
    account_id: str
    lines: int
    outcomes: dict[str, int]
    checks: list[CheckOut]
    discrepancies_found: int


class StatementImportOut(BaseModel):
    """One file may hold several statements (camt.053 `Stmt`, MT940 messages); all are imported or none."""

    statements: list[ImportedStatementOut]


class StatementLineOut(BaseModel):
    position: int
    line_id: str
    booking_date: date
    value_date: date
    direction: str
    amount: int
    currency: str
    kind: str
    status: str
    raw_status: str
    our_ref: str | None
    provider_ref: str | None
    counterparty_name: str | None
    return_reason: str | None
    outcome: str | None
    reference: str | None
    matched_by: str | None
    suggestions: str | None


class DiscrepancyOut(BaseModel):
    discrepancy_id: UUID
    category: str
    severity: str
    amount_at_stake: int
    currency: str = "XOF"
    suggested_action: str
    cycle_id: UUID | None
    instruction_id: str | None
    statement_id: UUID | None
    line_position: int | None
    status: str
    resolution: str | None
    resolved_by: str | None
    resolved_at: datetime | None
    found_at: datetime
    report_id: UUID | None = Field(default=None, description="the vendor redemption report that found it")
    report_position: int | None = None


class StatementOut(BaseModel):
    statement_id: UUID
    format: str
    account_id: str
    provider: str
    currency: str
    reference: str | None
    sequence_number: int | None
    period_start: date | None
    period_end: date | None
    opening_balance: int
    closing_balance: int
    file_sha256: str
    line_count: int
    checks: list[CheckOut]
    outcomes: dict[str, int]
    imported_by: str
    imported_at: datetime
    lines: list[StatementLineOut] = Field(description="one page of lines, in order of position")
    next_after: int | None = Field(description="`after` for the next page of lines; null on the last page")
    discrepancies: list[DiscrepancyOut] = Field(description="the discrepancies of the lines of this page")


class DiscrepancyListOut(BaseModel):
    items: list[DiscrepancyOut]


class ResolutionIn(BaseModel):
    reason: str = Field(min_length=1, max_length=2000, description="why the discrepancy is explained")


class AuditEntryOut(BaseModel):
    seq: int
    occurred_at: datetime
    actor: str
    role: str
    service: str
    action: str
    subject: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    prev_hash: str
    hash: str


class AuditPageOut(BaseModel):
    items: list[AuditEntryOut]
    next_after: int | None = Field(description="pass as `after` for the next page; null on the last page")


class VerificationOut(BaseModel):
    intact: bool
    checked: int
    tampering: str | None
    position: int | None
    seq: int | None
    detail: str


class AccountIn(BaseModel):
    """An account whose statements we accept: a provider's float wallet or a bank account (IBAN)."""

    model_config = ConfigDict(extra="forbid")

    account_id: str = Field(min_length=1, max_length=64, examples=["MMAPI-FLOAT-0001"])
    provider: str = Field(min_length=1, max_length=40, examples=["gsma"])


class AccountOut(BaseModel):
    account_id: str
    provider: str


class RejectedRowOut(BaseModel):
    row: int = Field(description="line number in the file, from 1")
    reason: str
    cells: list[str]


class RedemptionReportImportOut(BaseModel):
    """A vendor's report once imported: its readable lines per outcome, and the rows set aside with why."""

    report_id: UUID
    vendors: list[str]
    lines: int
    outcomes: dict[str, int]
    rejected: list[RejectedRowOut]
    discrepancies_found: int


class CoverageOut(BaseModel):
    vendor_id: str
    first_day: date
    last_day: date


class RedemptionLineOut(BaseModel):
    position: int
    row_number: int
    vendor_id: str
    code: str
    amount: int
    currency: str
    redeemed_at: datetime
    receipt: str | None
    outcome: str | None
    voucher_id: UUID | None


class RedemptionReportOut(BaseModel):
    report_id: UUID
    file_sha256: str
    vendors: list[str]
    period_start: date | None
    period_end: date | None
    coverage: list[CoverageOut] = Field(description="the days the report covers, per vendor")
    line_count: int
    rejected: list[RejectedRowOut]
    outcomes: dict[str, int]
    imported_by: str
    imported_at: datetime
    lines: list[RedemptionLineOut] = Field(description="one page of lines, in order of position")
    next_after: int | None = Field(description="`after` for the next page of lines; null on the last page")
    discrepancies: list[DiscrepancyOut] = Field(description="every discrepancy this report found")
