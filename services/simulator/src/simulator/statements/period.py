"""A statement period: one account's movements over one day, its opening and closing balances and totals."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from simulator.behaviour import DIALECTS, Dialect
from simulator.clock import utc_now
from simulator.config import Account
from simulator.ledger import Ledger, Movement


@dataclass(frozen=True, slots=True)
class StatementPeriod:
    """Movements booked on `day` (failures included: only the operator report shows them)."""

    dialect: Dialect
    account: Account
    day: date
    opening: int
    movements: list[Movement]

    @classmethod
    def of(cls, ledger: Ledger, dialect: Dialect, day: date) -> StatementPeriod:
        account = ledger.account(dialect)
        opening = account.opening_balance
        chosen: list[Movement] = []
        for movement in ledger.movements(dialect):
            booked = movement.booked_at.date()
            if booked < day:
                opening = movement.balance_after
            elif booked == day:
                chosen.append(movement)
            else:
                break
        return cls(dialect, account, day, opening, chosen)

    @property
    def closing(self) -> int:
        return self.opening + sum(movement.effect for movement in self.movements)

    @property
    def booked(self) -> list[Movement]:
        """The movements that moved money (failed payments did not)."""
        return [movement for movement in self.movements if movement.kind != "failure"]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.day, time.min, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(days=1, seconds=-1)


def fees_of(movements: Iterable[Movement]) -> tuple[int, int]:
    """Total fees and how many payments carried one."""
    total = count = 0
    for movement in movements:
        if movement.fee:
            total += movement.fee
            count += 1
    return total, count


def accounts_named(ledger: Ledger, account: str | None) -> list[Dialect]:
    """The dialects whose account matches `account` (an account id or a dialect name); all when omitted."""
    if account is None:
        return list(DIALECTS)
    return [d for d in DIALECTS if account in (d, ledger.account(d).id)]


def day_or_today(value: str | None) -> date:
    return date.fromisoformat(value) if value else utc_now().date()
