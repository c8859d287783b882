"""Providers without a disbursement API (Orange-Money-style bulk portal, PROVIDERS.md §3.1): an operator takes a
cycle's payments for that provider as a file to upload, and later brings back the portal's report.

The dispatcher never sends these payments itself. Handing over a file claims them, publishes them as
instructed and records them as submitted (under the file's id), all in one transaction with the file kept:
either the operator has the file and the payments say so, or nothing happened. The report is the provider's
answer: each line becomes canonical evidence (`operator_report`, brought in by an authenticated operator) and
moves its payment as a callback would — monotonic, a conflicting final status recorded as a conflict. The
same report twice is recognised by its digest and changes nothing; lines about unknown references and lines
that could not be read are listed with the reason.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.payments import OutcomeKind, PaymentState
from payments.providers import orange_bulk
from payments.providers.events import SendResult
from payments.use_cases.instruct import instruction_of, publish_instructed
from payments.use_cases.record_payment_news import News, record_payment_news
from shared.audit import record_action
from shared.auth import Principal
from shared.errors import Conflict, InvalidInput, NotFound

#: Providers paid through a portal file rather than an API.
BULK_PROVIDERS = frozenset({orange_bulk.PROVIDER})
#: Payments one file carries at most (the portal's limit is far above a cycle's share of one operator).
MAX_FILE_PAYMENTS = 500_000


def export_bulk_file(
    uow: PaymentsUnitOfWork, *, cycle_id: UUID, provider: str, actor: Principal
) -> dict[str, Any]:
    """The file of every payment of the cycle still waiting for `provider`, with its id and totals."""
    if provider not in BULK_PROVIDERS:
        raise InvalidInput(
            f"{provider!r} is not paid through bulk files", details={"bulk_providers": sorted(BULK_PROVIDERS)}
        )
    cycle = uow.cycles.get(cycle_id)
    if cycle is None:
        raise NotFound(f"no cycle {cycle_id}")
    if cycle["state"] != "released":
        raise Conflict(f"cycle {cycle_id} is {cycle['state']}: only a released cycle's payments go out")
    file_id = uuid4()
    rows = uow.payments.claim_to_send(provider, limit=MAX_FILE_PAYMENTS, batch_key=file_id, cycle_id=cycle_id)
    if not rows:
        raise Conflict(f"no payment of cycle {cycle_id} is waiting for a {provider} file")
    content = orange_bulk.write_bulk_file([instruction_of(row) for row in rows])
    publish_instructed(uow, rows)
    handed_over = SendResult(PaymentState.SUBMITTED)
    record_payment_news(
        uow,
        {row["id"]: [News("send", send=handed_over, batch_ref=str(file_id))] for row in rows},
        source=f"bulk-file:{provider}",
    )
    amount = sum(int(row["amount"]) for row in rows)
    uow.bulk_files.add_file(
        {
            "id": file_id,
            "cycle_id": cycle_id,
            "provider": provider,
            "payments": len(rows),
            "amount": amount,
            "content": content,
            "created_by": actor.name,
        }
    )
    record_action(
        uow,
        actor=actor,
        action="bulk_file.export",
        subject=f"bulk-file/{file_id}",
        after={"cycle_id": str(cycle_id), "provider": provider, "payments": len(rows), "amount": amount},
    )
    return {
        "id": file_id,
        "cycle_id": cycle_id,
        "provider": provider,
        "payments": len(rows),
        "amount": amount,
    }


def import_bulk_report(
    uow: PaymentsUnitOfWork, *, content: bytes, provider: str, actor: Principal
) -> dict[str, Any]:
    """Apply a portal report; what became of its lines. The same report again answers what it did the first time."""
    if provider not in BULK_PROVIDERS:
        raise InvalidInput(
            f"{provider!r} is not paid through bulk files", details={"bulk_providers": sorted(BULK_PROVIDERS)}
        )
    digest = hashlib.sha256(content).hexdigest()
    earlier = uow.bulk_files.report_by_digest(digest)
    if earlier is not None:
        return {**earlier["outcome"], "duplicate": True}
    report = orange_bulk.parse_bulk_report(content, received_at=datetime.now(UTC), provider=provider)
    if not report.events:
        reasons = "; ".join(f"line {line.line_no}: {line.reason}" for line in report.skipped[:5])
        raise InvalidInput(f"no payment line could be read from this report ({reasons or 'it is empty'})")
    known = uow.payments.by_references({event.instruction_id or "" for event in report.events})
    news: dict[UUID, list[News]] = {}
    unknown: list[str] = []
    for event in report.events:
        payment_id = known.get(event.instruction_id or "")
        if payment_id is None:
            unknown.append(event.instruction_id or "")
            continue
        news.setdefault(payment_id, []).append(News("evidence", evidence=event))
    applied = record_payment_news(uow, news, source=f"bulk-report:{provider}")
    states: dict[str, int] = {}
    for result in applied.values():
        states[result.state.value] = states.get(result.state.value, 0) + 1
    report_id = uuid4()
    outcome = {
        "id": str(report_id),
        "provider": provider,
        "lines": len(report.events),
        "payments": states,
        "conflicts": sum(
            1 for result in applied.values() for item in result.outcomes if item.kind is OutcomeKind.CONFLICT
        ),
        "unknown_references": sorted(unknown),
        "skipped": [{"line": line.line_no, "reason": line.reason} for line in report.skipped],
        "duplicate": False,
    }
    uow.bulk_files.add_report(
        {
            "id": report_id,
            "provider": provider,
            "digest": digest,
            "content": content,
            "outcome": outcome,
            "imported_by": actor.name,
        }
    )
    record_action(
        uow,
        actor=actor,
        action="bulk_report.import",
        subject=f"bulk-report/{report_id}",
        after={"provider": provider, "lines": len(report.events), "unknown": len(unknown)},
    )
    return outcome
