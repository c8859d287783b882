"""The hash-chained audit trail: intact chains verify, and the first tampered entry is named."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from reconciliation.domain.audit import AuditEntry, Tampering, chain_entry, recomputed_hash, verify_chain

START = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)


def _chain(length: int = 6) -> list[AuditEntry]:
    entries: list[AuditEntry] = []
    for number in range(length):
        entries.append(
            chain_entry(
                entries[-1] if entries else None,
                occurred_at=START + timedelta(minutes=number),
                actor=f"user-{number}",
                role="operator",
                service="reconciliation",
                action="discrepancy.resolved",
                subject=f"discrepancy/{number}",
                before={"status": "open"},
                after={"status": "resolved", "amount": 30_000},
            )
        )
    return entries


def _forged_after(previous: AuditEntry, seq: int) -> AuditEntry:
    """An entry written by someone who knows the hashing rule and chains it properly to `previous`."""
    forged = chain_entry(
        previous,
        occurred_at=previous.occurred_at,
        actor="intruder",
        role="admin",
        service="reconciliation",
        action="discrepancy.resolved",
        subject="discrepancy/99",
    )
    return dataclasses.replace(forged, seq=seq, hash=recomputed_hash(dataclasses.replace(forged, seq=seq)))


def test_an_untouched_chain_verifies() -> None:
    chain = _chain()
    verdict = verify_chain(chain, head=(chain[-1].seq, chain[-1].hash))
    assert (verdict.intact, verdict.checked) == (True, 6)


def test_an_edited_row_is_named_by_its_position() -> None:
    chain = _chain()
    chain[3] = dataclasses.replace(chain[3], after={"status": "resolved", "amount": 3_000})
    verdict = verify_chain(chain)
    assert (verdict.intact, verdict.tampering, verdict.position, verdict.seq) == (
        False,
        Tampering.EDITED,
        3,
        4,
    )


def test_an_edited_and_rehashed_row_is_caught_by_the_next_link() -> None:
    chain = _chain()
    edited = dataclasses.replace(chain[2], actor="someone-else")
    chain[2] = dataclasses.replace(edited, hash=recomputed_hash(edited))
    verdict = verify_chain(chain)
    assert (verdict.tampering, verdict.position, verdict.seq) == (Tampering.EDITED, 2, 3)


def test_a_row_inserted_with_a_repeated_seq_is_named() -> None:
    chain = _chain()
    chain.insert(3, _forged_after(chain[2], seq=4))
    verdict = verify_chain(chain)
    assert (verdict.tampering, verdict.position, verdict.seq) == (Tampering.INSERTED, 3, 4)


def test_a_row_inserted_with_the_later_rows_renumbered_is_named() -> None:
    chain = _chain()
    renumbered = [dataclasses.replace(entry, seq=entry.seq + 1) for entry in chain[3:]]
    chain = [*chain[:3], _forged_after(chain[2], seq=4), *renumbered]
    verdict = verify_chain(chain)
    assert (verdict.tampering, verdict.position) == (Tampering.INSERTED, 3)


def test_a_row_inserted_without_knowing_the_rule_is_named() -> None:
    chain = _chain()
    clumsy = dataclasses.replace(chain[2], seq=4, actor="intruder", hash="f" * 64)
    chain.insert(3, clumsy)
    verdict = verify_chain(chain)
    assert (verdict.tampering, verdict.position) == (Tampering.INSERTED, 3)


def test_a_deleted_row_is_named_by_the_gap_it_leaves() -> None:
    chain = _chain()
    del chain[2]
    verdict = verify_chain(chain)
    assert (verdict.tampering, verdict.position, verdict.seq) == (Tampering.DELETED, 2, 4)
    assert verdict.detail == "deleted at position 2 (seq 4): seq 3 missing before seq 4"


def test_a_deleted_row_with_the_later_rows_renumbered_is_named() -> None:
    chain = _chain()
    chain = [*chain[:2], *[dataclasses.replace(entry, seq=entry.seq - 1) for entry in chain[3:]]]
    verdict = verify_chain(chain)
    assert (verdict.tampering, verdict.position) == (Tampering.DELETED, 2)


def test_deleting_the_newest_rows_is_caught_against_the_recorded_head() -> None:
    chain = _chain()
    head = (chain[-1].seq, chain[-1].hash)
    verdict = verify_chain(chain[:-2], head=head)
    assert (verdict.tampering, verdict.position, verdict.seq) == (Tampering.DELETED, 4, 6)


def test_rows_appended_after_the_recorded_head_are_caught() -> None:
    chain = _chain()
    head = (chain[-2].seq, chain[-2].hash)
    verdict = verify_chain(chain, head=head)
    assert (verdict.tampering, verdict.position, verdict.seq) == (Tampering.INSERTED, 5, 6)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        chain_entry(
            None,
            occurred_at=datetime(2025, 3, 14, 9, 0),  # noqa: DTZ001 - the point of the test
            actor="a",
            role="operator",
            service="reconciliation",
            action="x",
            subject="y",
        )
