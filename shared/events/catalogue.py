"""The one list of topics and event types, with the pydantic model of each event's data.

Events are contracts: frozen models, past-tense types, additive changes only (a breaking change is a new
type). The AsyncAPI document (`asyncapi.yaml`) describes the same catalogue for people and other systems.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel

from shared.events import contracts as c


class Topic(StrEnum):
    """Logical topics; the broker name is `<prefix>.<topic>` (see `topic_name`)."""

    HOUSEHOLDS = "enrolment.households"
    ENROLMENTS = "enrolment.enrolments"
    AUDIT = "audit.actions"
    CYCLES = "payments.cycles"
    PAYMENTS = "payments.payments"
    VOUCHERS = "payments.vouchers"
    RECONCILIATION = "reconciliation.results"


@dataclass(frozen=True, slots=True)
class EventSpec:
    event_type: str
    topic: Topic
    model: type[BaseModel]


CATALOGUE: tuple[EventSpec, ...] = (
    EventSpec("household.registered", Topic.HOUSEHOLDS, c.HouseholdRegistered),
    EventSpec("household.updated", Topic.HOUSEHOLDS, c.HouseholdUpdated),
    EventSpec("household.payment_details_changed", Topic.HOUSEHOLDS, c.PaymentDetailsChanged),
    EventSpec("household.duplicate_confirmed", Topic.HOUSEHOLDS, c.DuplicateConfirmed),
    EventSpec("households.registered", Topic.HOUSEHOLDS, c.HouseholdsRegistered),
    EventSpec("enrolments.changed", Topic.ENROLMENTS, c.EnrolmentsChanged),
    EventSpec("enrolments.activated", Topic.ENROLMENTS, c.EnrolmentsActivated),
    EventSpec("enrolments.suspended", Topic.ENROLMENTS, c.EnrolmentsSuspended),
    EventSpec("enrolments.exited", Topic.ENROLMENTS, c.EnrolmentsExited),
    EventSpec("audit.recorded", Topic.AUDIT, c.AuditRecorded),
    EventSpec("cycle.created", Topic.CYCLES, c.CycleCreated),
    EventSpec("cycle.approved", Topic.CYCLES, c.CycleApproved),
    EventSpec("cycle.released", Topic.CYCLES, c.CycleReleased),
    EventSpec("cycle.cancelled", Topic.CYCLES, c.CycleCancelled),
    EventSpec("cycle.closed", Topic.CYCLES, c.CycleClosed),
    EventSpec("payments.instructed", Topic.PAYMENTS, c.PaymentsInstructed),
    EventSpec("payments.sent", Topic.PAYMENTS, c.PaymentsSent),
    EventSpec("payments.confirmed", Topic.PAYMENTS, c.PaymentsConfirmed),
    EventSpec("payments.failed", Topic.PAYMENTS, c.PaymentsFailed),
    EventSpec("payments.in_doubt", Topic.PAYMENTS, c.PaymentsInDoubt),
    EventSpec("payments.reversed", Topic.PAYMENTS, c.PaymentsReversed),
    EventSpec("payments.status_conflicted", Topic.PAYMENTS, c.PaymentsStatusConflicted),
    EventSpec("vouchers.issued", Topic.VOUCHERS, c.VouchersIssued),
    EventSpec("voucher.redeemed", Topic.VOUCHERS, c.VoucherRedeemed),
    EventSpec("vouchers.expired", Topic.VOUCHERS, c.VouchersExpired),
    EventSpec("statement.reconciled", Topic.RECONCILIATION, c.StatementReconciled),
    EventSpec("redemption_report.reconciled", Topic.RECONCILIATION, c.RedemptionReportReconciled),
    EventSpec("discrepancies.found", Topic.RECONCILIATION, c.DiscrepanciesFound),
    EventSpec("discrepancy.resolved", Topic.RECONCILIATION, c.DiscrepancyResolved),
    EventSpec("cycle.reconciled", Topic.RECONCILIATION, c.CycleReconciled),
)

_BY_TYPE = {spec.event_type: spec for spec in CATALOGUE}
_BY_MODEL = {spec.model: spec for spec in CATALOGUE}


def spec_for(event_type: str) -> EventSpec | None:
    return _BY_TYPE.get(event_type)


def type_of(data: BaseModel) -> str:
    spec = _BY_MODEL.get(type(data))
    if spec is None:
        raise ValueError(f"{type(data).__name__} is not a registered event")
    return spec.event_type


def topic_of(event_type: str) -> Topic:
    spec = _BY_TYPE[event_type]
    return spec.topic


def topic_name(prefix: str, topic: Topic) -> str:
    return f"{prefix}.{topic.value}"


def all_topic_names(prefix: str) -> list[str]:
    return [topic_name(prefix, topic) for topic in Topic]
