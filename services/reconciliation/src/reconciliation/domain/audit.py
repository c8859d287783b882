"""A tamper-evident audit trail: each entry's hash covers the previous entry's hash and its own content.

hash = sha256(prev_hash + canonical JSON of the entry), where the canonical JSON holds `seq`,
`occurred_at` (UTC, `YYYY-MM-DDTHH:MM:SS.ffffffZ`), `actor`, `role`, `service`, `action`, `subject`,
`before` and `after`, with sorted keys, no whitespace, UTF-8. The first entry links to GENESIS.
Deleting the newest entries leaves a valid shorter chain: keep the head (seq and hash) somewhere else
too and pass it to `verify_chain` to catch that.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson

GENESIS = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
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


class Tampering(StrEnum):
    EDITED = "edited"
    INSERTED = "inserted"
    DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """`position` is the 0-based index, in the entries given, of the first entry found tampered with."""

    intact: bool
    checked: int
    tampering: Tampering | None = None
    position: int | None = None
    seq: int | None = None
    detail: str = ""


def canonical_json(
    *,
    seq: int,
    occurred_at: datetime,
    actor: str,
    role: str,
    service: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
) -> bytes:
    if occurred_at.tzinfo is None:
        raise ValueError("an audit entry's time must be timezone-aware")
    content = {
        "seq": seq,
        "occurred_at": occurred_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "actor": actor,
        "role": role,
        "service": service,
        "action": action,
        "subject": subject,
        "before": before,
        "after": after,
    }
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS)


def entry_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + content).hexdigest()


def chain_entry(
    previous: AuditEntry | None,
    *,
    occurred_at: datetime,
    actor: str,
    role: str,
    service: str,
    action: str,
    subject: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEntry:
    """The next entry of the chain whose newest entry is `previous` (None for the first)."""
    seq = 1 if previous is None else previous.seq + 1
    prev_hash = GENESIS if previous is None else previous.hash
    content = canonical_json(
        seq=seq,
        occurred_at=occurred_at,
        actor=actor,
        role=role,
        service=service,
        action=action,
        subject=subject,
        before=before,
        after=after,
    )
    return AuditEntry(
        seq=seq,
        occurred_at=occurred_at,
        actor=actor,
        role=role,
        service=service,
        action=action,
        subject=subject,
        before=before,
        after=after,
        prev_hash=prev_hash,
        hash=entry_hash(prev_hash, content),
    )


def recomputed_hash(entry: AuditEntry) -> str:
    content = canonical_json(
        seq=entry.seq,
        occurred_at=entry.occurred_at,
        actor=entry.actor,
        role=entry.role,
        service=entry.service,
        action=entry.action,
        subject=entry.subject,
        before=entry.before,
        after=entry.after,
    )
    return entry_hash(entry.prev_hash, content)


def verify_chain(entries: Iterable[AuditEntry], *, head: tuple[int, str] | None = None) -> ChainVerdict:
    """Walk the entries in seq order and report the first edited, inserted or deleted entry.

    A gap in seq is a deletion; a seq that repeats, or a link that skips the entry before, is an
    insertion; a hash that no longer matches its content is an edit. `head` is the (seq, hash) of the
    newest entry as recorded elsewhere, if it is.
    """
    walk = _Walk()
    ahead = iter(entries)
    entry = next(ahead, None)
    while entry is not None:
        following = next(ahead, None)
        verdict = walk.step(entry, following)
        if verdict is not None:
            return verdict
        entry = following
    return walk.end(head)


class _Walk:
    """The state of a verification: what the next entry must carry, and the hashes seen so far."""

    def __init__(self) -> None:
        self.position = 0
        self.seqs: list[int] = []
        self.hashes: list[str] = []

    @property
    def expected_seq(self) -> int:
        return self.seqs[-1] + 1 if self.seqs else 1

    @property
    def expected_prev(self) -> str:
        return self.hashes[-1] if self.hashes else GENESIS

    def step(self, entry: AuditEntry, following: AuditEntry | None) -> ChainVerdict | None:
        verdict = self._judge(entry, following)
        if verdict is None:
            self.seqs.append(entry.seq)
            self.hashes.append(entry.hash)
            self.position += 1
        return verdict

    def end(self, head: tuple[int, str] | None) -> ChainVerdict:
        last = (self.expected_seq - 1, self.expected_prev)
        if head is None or last == head:
            return ChainVerdict(True, self.position)
        why = f"the chain ends at seq {last[0]} but its recorded head is seq {head[0]}"
        if last[0] > head[0]:
            return self._found(Tampering.INSERTED, head[0], head[0] + 1, f"{why}: entries were appended")
        return self._found(
            Tampering.DELETED, self.position, head[0], f"{why}: the newest entries were deleted or rewritten"
        )

    def _judge(self, entry: AuditEntry, following: AuditEntry | None) -> ChainVerdict | None:
        here, expected_seq, expected_prev = self.position, self.expected_seq, self.expected_prev
        if entry.seq > expected_seq:
            missing = (
                f"seq {expected_seq}"
                if entry.seq == expected_seq + 1
                else f"seq {expected_seq}–{entry.seq - 1}"
            )
            return self._found(
                Tampering.DELETED, here, entry.seq, f"{missing} missing before seq {entry.seq}"
            )
        links = entry.prev_hash == expected_prev
        sealed = recomputed_hash(entry) == entry.hash
        if entry.seq == expected_seq and links and sealed:
            return None
        if following is not None and (following.prev_hash == expected_prev or following.seq == entry.seq):
            return self._found(Tampering.INSERTED, here, entry.seq, "the next entry links past it")
        if len(self.hashes) >= 2 and entry.prev_hash == self.hashes[-2]:
            return self._found(
                Tampering.INSERTED,
                here - 1,
                self.seqs[-1],
                f"seq {entry.seq} links past it, to the entry before",
            )
        if entry.seq < expected_seq:
            return self._found(Tampering.INSERTED, here, entry.seq, f"seq {entry.seq} was already used")
        if links:
            return self._found(Tampering.EDITED, here, entry.seq, "its content no longer matches its hash")
        if sealed:
            return self._found(
                Tampering.EDITED,
                here - 1,
                self.seqs[-1] if self.seqs else 0,
                f"seq {entry.seq} does not link to it: it was rewritten with a new hash",
            )
        return self._found(
            Tampering.DELETED,
            here,
            entry.seq,
            "it links to an entry that is not in the chain: entries before it were deleted and the later ones renumbered",
        )

    def _found(self, tampering: Tampering, at: int, seq: int, why: str) -> ChainVerdict:
        return ChainVerdict(
            False, self.position, tampering, at, seq, f"{tampering.value} at position {at} (seq {seq}): {why}"
        )
