"""Known accounts (statements of any other account are refused) and the float fundings we ordered."""

from __future__ import annotations

from sqlalchemy import Connection, select
from sqlalchemy.dialects.postgresql import insert

from reconciliation.db.tables import funding, known_account
from reconciliation.domain.matching import Funding


class AccountRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, account_id: str, *, provider: str, added_by: str) -> None:
        self.connection.execute(
            insert(known_account)
            .values(account_id=account_id, provider=provider, added_by=added_by)
            .on_conflict_do_update(index_elements=["account_id"], set_={"provider": provider})
        )

    def known(self) -> dict[str, str]:
        """Account id → provider whose money it holds."""
        return dict(
            self.connection.execute(select(known_account.c.account_id, known_account.c.provider)).all()
        )

    def add_funding(self, reference: str, *, amount: int, added_by: str) -> None:
        self.connection.execute(
            insert(funding)
            .values(reference=reference, amount=amount, added_by=added_by)
            .on_conflict_do_update(index_elements=["reference"], set_={"amount": amount})
        )

    def fundings(self) -> list[Funding]:
        return [
            Funding(reference, amount)
            for reference, amount in self.connection.execute(select(funding.c.reference, funding.c.amount))
        ]
