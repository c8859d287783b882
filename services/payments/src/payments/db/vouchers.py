"""Vouchers, their redemptions (exactly once, by a conditional UPDATE), and the vendors who redeem them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, text


class VoucherRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_many(self, rows: Sequence[dict[str, Any]]) -> None:
        if not rows:
            return
        self.connection.execute(
            text(
                'INSERT INTO "payments".voucher (id, code, payment_id, cycle_id, household_id, programme_code, '
                "amount, state, expires_at) VALUES (:id, :code, :payment_id, :cycle_id, :household_id, "
                ":programme_code, :amount, 'ISSUED', :expires_at)"
            ),
            list(rows),
        )

    def get(self, code: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                text(
                    'SELECT v.*, r.vendor_id AS redeemed_by, r.redeemed_at FROM "payments".voucher v '
                    'LEFT JOIN "payments".voucher_redemption r ON r.voucher_id = v.id WHERE v.code = :c'
                ),
                {"c": code},
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def page(
        self, cycle_id: UUID, *, state: str | None, limit: int, offset: int
    ) -> tuple[int, list[dict[str, Any]]]:
        """A cycle's vouchers with their holder and where they live (the distribution list), by reference."""
        where = "v.cycle_id = :c" + (" AND v.state = :s" if state else "")
        params: dict[str, Any] = {"c": cycle_id, "s": state, "l": limit, "o": offset}
        total = int(
            self.connection.execute(
                text(f'SELECT count(*) FROM "payments".voucher v WHERE {where}'), params
            ).scalar_one()
        )
        rows = self.connection.execute(
            text(
                "SELECT v.code, v.programme_code, v.amount, v.state, v.expires_at, v.household_id, "
                "p.reference, b.head_name, b.msisdn, b.region, b.cercle, b.commune, "
                "r.vendor_id AS redeemed_by, r.redeemed_at "
                'FROM "payments".voucher v JOIN "payments".payment p ON p.id = v.payment_id '
                'LEFT JOIN "payments".beneficiary b ON b.household_id = v.household_id '
                'LEFT JOIN "payments".voucher_redemption r ON r.voucher_id = v.id '
                f"WHERE {where} ORDER BY p.reference LIMIT :l OFFSET :o"
            ),
            params,
        ).mappings()
        return total, [dict(row) for row in rows]

    def take(self, code: str) -> dict[str, Any] | None:
        """ISSUED → REDEEMED if not expired, in one conditional UPDATE: of two concurrent takers, one wins."""
        row = (
            self.connection.execute(
                text(
                    "UPDATE \"payments\".voucher SET state = 'REDEEMED' WHERE code = :c AND state = 'ISSUED' "
                    "AND expires_at > now() RETURNING *"
                ),
                {"c": code},
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None

    def expire_due(self, *, limit: int) -> list[dict[str, Any]]:
        """ISSUED vouchers past their expiry → EXPIRED (skipping rows a redemption holds); the ones expired."""
        rows = self.connection.execute(
            text(
                "UPDATE \"payments\".voucher v SET state = 'EXPIRED' WHERE v.id IN ("
                "SELECT id FROM \"payments\".voucher WHERE state = 'ISSUED' AND expires_at <= now() "
                "ORDER BY expires_at, id LIMIT :l FOR UPDATE SKIP LOCKED) AND v.state = 'ISSUED' "
                "RETURNING v.id, v.payment_id, v.cycle_id, v.amount"
            ),
            {"l": limit},
        ).mappings()
        return [dict(row) for row in rows]

    def record_redemption(self, voucher_id: UUID, vendor_id: str, amount: int) -> None:
        self.connection.execute(
            text(
                'INSERT INTO "payments".voucher_redemption (voucher_id, vendor_id, amount) VALUES (:v, :d, :a)'
            ),
            {"v": voucher_id, "d": vendor_id, "a": amount},
        )

    def add_vendor(
        self, *, vendor_id: str, name: str, programme_codes: Sequence[str], created_by: str
    ) -> None:
        self.connection.execute(
            text(
                'INSERT INTO "payments".vendor (vendor_id, name, programme_codes, created_by) '
                "VALUES (:i, :n, :p, :c) ON CONFLICT (vendor_id) DO UPDATE SET name = EXCLUDED.name, "
                "programme_codes = EXCLUDED.programme_codes, active = true"
            ),
            {"i": vendor_id, "n": name, "p": list(programme_codes), "c": created_by},
        )

    def vendor(self, vendor_id: str) -> dict[str, Any] | None:
        row = (
            self.connection.execute(
                text('SELECT * FROM "payments".vendor WHERE vendor_id = :i'), {"i": vendor_id}
            )
            .mappings()
            .first()
        )
        return dict(row) if row else None
