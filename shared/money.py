"""Money: whole francs of XOF (ISO 4217 exponent 0), as integers, always with their currency."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Currency = Literal["XOF"]
XOF: Currency = "XOF"

#: A non-negative amount of whole francs. Strict: a float or a numeric string is refused, never rounded.
Amount = Annotated[StrictInt, Field(ge=0, le=10**15)]


class Money(BaseModel):
    """An amount with its currency. XOF has no minor unit, so `amount` is whole francs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    amount: Amount
    currency: Currency = XOF

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"cannot add {other.currency} to {self.currency}")
        return Money(amount=self.amount + other.amount, currency=self.currency)

    def times(self, factor: int) -> Money:
        """Multiply by a whole, non-negative factor (a count of months, a household size)."""
        if not isinstance(factor, int) or factor < 0:
            raise ValueError("a money multiplier must be a non-negative integer")
        return Money(amount=self.amount * factor, currency=self.currency)

    def __str__(self) -> str:
        return f"{self.amount:,} {self.currency}".replace(",", " ")


@lru_cache(maxsize=4096, typed=True)
def xof(amount: int) -> Money:
    """Shorthand: `xof(30_000)`. Money is immutable, so one instance per amount is shared (a programme pays a
    few amounts to everyone; validating each again was ~4 % of the dispatcher's samples, py-spy --gil)."""
    return Money(amount=amount, currency=XOF)
