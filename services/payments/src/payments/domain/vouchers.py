"""Vouchers: unguessable codes with a Damm check digit, and the rules for issuing, redeeming and expiring them.

A code is 15 random decimal digits (from `secrets`, about 50 bits) and a Damm check digit, shown in groups of
four: `4821-0937-5521-8064`. Digits suit a feature-phone keypad; the Damm check digit catches every
single-digit substitution and every transposition of two adjacent digits. Redemption is whole-value and
exactly once (the database enforces "once"; these are the pure rules).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from shared.check_digits import damm_interim
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.money import Money

RANDOM_DIGITS = 15
CODE_LENGTH = RANDOM_DIGITS + 1
GROUP_SIZE = 4


def damm_check_digit(digits: str) -> str:
    """The digit that makes `digits + check` pass the Damm check."""
    if not digits.isascii() or not digits.isdigit():
        raise InvalidInput("a Damm check digit is computed over decimal digits")
    return str(damm_interim(digits))


def format_voucher_code(digits: str) -> str:
    """Group the digits by four with hyphens, for printing and SMS."""
    return "-".join(digits[start : start + GROUP_SIZE] for start in range(0, len(digits), GROUP_SIZE))


def new_voucher_code() -> str:
    """A fresh, unguessable code (digits only, check digit last)."""
    body = f"{secrets.randbelow(10**RANDOM_DIGITS):0{RANDOM_DIGITS}d}"
    return body + damm_check_digit(body)


def normalise_voucher_code(text: str) -> str:
    """The 16 digits of a code typed with or without spaces and hyphens; refuses a code that fails its check."""
    digits = "".join(char for char in text if char not in " -")
    if len(digits) != CODE_LENGTH or not digits.isascii() or not digits.isdigit():
        raise InvalidInput(f"a voucher code has {CODE_LENGTH} digits")
    if damm_interim(digits) != 0:
        raise InvalidInput("this voucher code is mistyped (check digit)")
    return digits


def is_valid_voucher_code(text: str) -> bool:
    try:
        normalise_voucher_code(text)
    except InvalidInput:
        return False
    return True


class VoucherState(StrEnum):
    CREATED = "CREATED"
    ISSUED = "ISSUED"
    REDEEMED = "REDEEMED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class Vendor:
    """A trader who may redeem vouchers of the programmes it is registered for."""

    vendor_id: str
    programme_codes: frozenset[str]
    active: bool = True


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidInput("times are timezone-aware (UTC)")
    return moment


@dataclass(frozen=True)
class Voucher:
    """A voucher of a fixed value for one household: CREATED → ISSUED → REDEEMED | EXPIRED | CANCELLED."""

    code: str
    programme_code: str
    value: Money
    expires_at: datetime
    state: VoucherState = VoucherState.CREATED
    redeemed_by: str | None = None
    redeemed_at: datetime | None = None

    def __post_init__(self) -> None:
        if normalise_voucher_code(self.code) != self.code:
            raise InvalidInput("a voucher stores its code as bare digits")
        _utc(self.expires_at)
        if self.value.amount <= 0:
            raise InvalidInput("a voucher is worth a positive amount")

    @classmethod
    def create(cls, *, programme_code: str, value: Money, expires_at: datetime) -> Voucher:
        return cls(code=new_voucher_code(), programme_code=programme_code, value=value, expires_at=expires_at)

    def is_expired(self, at: datetime) -> bool:
        return _utc(at) >= self.expires_at

    def issue(self) -> Voucher:
        self._require(VoucherState.CREATED, "issued")
        return replace(self, state=VoucherState.ISSUED)

    def redeem(self, *, vendor: Vendor, amount: Money, at: datetime) -> Voucher:
        """Redeem the whole value at a registered vendor before expiry."""
        self._require(VoucherState.ISSUED, "redeemed")
        if self.is_expired(at):
            raise Conflict("this voucher has expired", details={"expires_at": self.expires_at.isoformat()})
        if not vendor.active or self.programme_code not in vendor.programme_codes:
            raise Forbidden(
                f"vendor {vendor.vendor_id} is not registered for programme {self.programme_code}"
            )
        if amount != self.value:
            raise InvalidInput(
                f"a voucher is redeemed for its whole value, {self.value}", details={"asked": str(amount)}
            )
        return replace(self, state=VoucherState.REDEEMED, redeemed_by=vendor.vendor_id, redeemed_at=at)

    def expire(self, *, at: datetime) -> Voucher:
        self._require(VoucherState.ISSUED, "expired")
        if not self.is_expired(at):
            raise Conflict(
                "this voucher has not reached its expiry", details={"expires_at": self.expires_at.isoformat()}
            )
        return replace(self, state=VoucherState.EXPIRED)

    def cancel(self) -> Voucher:
        if self.state not in {VoucherState.CREATED, VoucherState.ISSUED}:
            raise Conflict(f"a {self.state} voucher cannot be cancelled", details={"state": self.state.value})
        return replace(self, state=VoucherState.CANCELLED)

    def _require(self, state: VoucherState, action: str) -> None:
        if self.state is not state:
            raise Conflict(f"a {self.state} voucher cannot be {action}", details={"state": self.state.value})
