"""Transfer schemes: what a household is entitled to per cycle, in whole francs, and the periods cycles are named by.

Arithmetic rules (integer XOF, never floats):
* a monthly rate paid every N months pays `monthly_amount * N` per cycle (Jigisemejiri: 10,000 × 3 = 30,000);
* a yearly amount in tranches is split by integer division and the remainder goes, one franc each, to the
  earliest tranches, so the tranches of a year always sum to the yearly amount (100,000 in 3 = 33,334 +
  33,333 + 33,333);
* an optional household-size supplement adds `per_member * household_size` to the cycle amount, then caps
  the sum at `cap`;
* a top-up (vertical expansion) is recorded apart from the base: a fixed amount, or a multiplier in integer
  percent where the top-up is `base * percent // 100 - base` (rounded down to the whole franc; 150 means ×1.5).
  Several top-ups covering one household each apply to the base; they do not compound.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from shared.errors import InvalidInput
from shared.money import XOF, Currency, Money

PositiveAmount = Annotated[StrictInt, Field(gt=0, le=10**12)]
ProgrammeCode = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9]{0,2}$")]


class PeriodKind(StrEnum):
    """How long one period lasts; the letter is the one used in `2026-M03`, `2026-Q1`, `2026-S1`."""

    MONTH = "M"
    QUARTER = "Q"
    SEMESTER = "S"

    @property
    def months(self) -> int:
        return {PeriodKind.MONTH: 1, PeriodKind.QUARTER: 3, PeriodKind.SEMESTER: 6}[self]

    @property
    def per_year(self) -> int:
        return 12 // self.months


_PERIOD = re.compile(
    r"^(?P<year>\d{4})-(?:M(?P<month>0[1-9]|1[0-2])|Q(?P<quarter>[1-4])|S(?P<semester>[12]))$"
)


@dataclass(frozen=True)
class Period:
    """A calendar period (UTC dates; Bamako is UTC+0): a month, a quarter or a semester of one year."""

    year: int
    kind: PeriodKind
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.year <= 9999:
            raise InvalidInput(f"year {self.year} is out of range")
        if not 1 <= self.number <= self.kind.per_year:
            raise InvalidInput(f"a {self.kind.name.lower()} number is 1 to {self.kind.per_year}")

    @classmethod
    def parse(cls, text: str) -> Period:
        """Read `2026-Q1`, `2026-M03` or `2026-S1`."""
        match = _PERIOD.match(text)
        if match is None:
            raise InvalidInput(f"{text!r} is not a period like 2026-Q1, 2026-M03 or 2026-S1")
        year = int(match["year"])
        if match["month"]:
            return cls(year, PeriodKind.MONTH, int(match["month"]))
        if match["quarter"]:
            return cls(year, PeriodKind.QUARTER, int(match["quarter"]))
        return cls(year, PeriodKind.SEMESTER, int(match["semester"]))

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> Period:
        """The period of this kind that the day falls in."""
        return cls(day.year, kind, (day.month - 1) // kind.months + 1)

    def __str__(self) -> str:
        number = f"{self.number:02d}" if self.kind is PeriodKind.MONTH else str(self.number)
        return f"{self.year:04d}-{self.kind.value}{number}"

    @property
    def first_day(self) -> date:
        return date(self.year, (self.number - 1) * self.kind.months + 1, 1)

    def shifted(self, periods: int) -> Period:
        """The period `periods` later (or earlier, if negative)."""
        year, index = divmod(self._ordinal + periods, self.kind.per_year)
        return Period(year, self.kind, index + 1)

    def index_from(self, first: Period) -> int:
        """How many periods after `first` this one is (0 for `first` itself)."""
        if first.kind is not self.kind:
            raise InvalidInput(f"cannot count {self.kind.name.lower()}s from a {first.kind.name.lower()}")
        return self._ordinal - first._ordinal

    @property
    def _ordinal(self) -> int:
        return self.year * self.kind.per_year + self.number - 1


def period_index(first: Period, day: date) -> int:
    """Which period, counted from 0 at `first`, the day falls in; a day before `first` is refused."""
    index = Period.containing(first.kind, day).index_from(first)
    if index < 0:
        raise InvalidInput(f"{day.isoformat()} is before the first period {first}")
    return index


class Modality(StrEnum):
    """How a household receives its transfer."""

    MOBILE_MONEY = "mobile_money"
    VOUCHER = "voucher"


class _ValueObject(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MonthlyRate(_ValueObject):
    """An amount per month, paid every N months in one instalment."""

    kind: Literal["monthly_rate"] = "monthly_rate"
    monthly_amount: PositiveAmount
    every_months: int = Field(ge=1, le=12)

    def cycle_amount(self, cycle_no: int) -> int:
        return self.monthly_amount * self.every_months


class YearlyTranches(_ValueObject):
    """A yearly amount paid in equal tranches; the remainder goes one franc each to the earliest tranches."""

    kind: Literal["yearly_tranches"] = "yearly_tranches"
    yearly_amount: PositiveAmount
    tranches: int = Field(ge=1, le=12)

    @property
    def tranche_amounts(self) -> tuple[int, ...]:
        share, remainder = divmod(self.yearly_amount, self.tranches)
        return tuple(share + (1 if index < remainder else 0) for index in range(self.tranches))

    def cycle_amount(self, cycle_no: int) -> int:
        return self.tranche_amounts[(cycle_no - 1) % self.tranches]


class SizeSupplement(_ValueObject):
    """A per-member supplement on top of the cycle amount, the sum capped per cycle."""

    per_member: PositiveAmount
    cap: PositiveAmount

    def applied_to(self, base: int, household_size: int) -> int:
        return min(base + self.per_member * household_size, self.cap)


class ProviderRouting(_ValueObject):
    """Which configured provider pays the wallets of each mobile operator (e.g. orange → gsma-orange)."""

    routes: dict[str, str] = Field(min_length=1)

    def provider_for(self, operator: str) -> str:
        provider = {key.casefold(): value for key, value in self.routes.items()}.get(operator.casefold())
        if provider is None:
            raise InvalidInput(f"no provider is configured for mobile operator {operator!r}")
        return provider


@dataclass(frozen=True)
class Location:
    """Where a household lives."""

    region: str
    cercle: str
    commune: str


@dataclass(frozen=True)
class Household:
    """What a scheme needs to know about a household to compute its entitlement."""

    size: int
    location: Location
    mobile_operator: str | None = None

    def __post_init__(self) -> None:
        if self.size < 1:
            raise InvalidInput("a household has at least one member")


def _place_key(name: str) -> str:
    """Place names compare without case or accents (`Ségou` = `SEGOU`)."""
    decomposed = unicodedata.normalize("NFKD", name.strip())
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


class Area(_ValueObject):
    """Regions, cercles and communes; a household is inside if any of its three places is listed."""

    regions: frozenset[str] = frozenset()
    cercles: frozenset[str] = frozenset()
    communes: frozenset[str] = frozenset()

    @model_validator(mode="after")
    def _not_empty(self) -> Self:
        if not (self.regions or self.cercles or self.communes):
            raise ValueError("an area names at least one region, cercle or commune")
        return self

    def contains(self, location: Location) -> bool:
        return (
            _place_key(location.region) in {_place_key(name) for name in self.regions}
            or _place_key(location.cercle) in {_place_key(name) for name in self.cercles}
            or _place_key(location.commune) in {_place_key(name) for name in self.communes}
        )


class TopUp(_ValueObject):
    """Vertical expansion for an area: a fixed amount, or a multiplier in integer percent (150 = ×1.5)."""

    area: Area
    fixed_amount: PositiveAmount | None = None
    multiplier_percent: int | None = Field(default=None, gt=100, le=1000)

    @model_validator(mode="after")
    def _one_rule(self) -> Self:
        if (self.fixed_amount is None) == (self.multiplier_percent is None):
            raise ValueError("a top-up has either a fixed amount or a multiplier, not both")
        return self

    def amount_for(self, base: int) -> int:
        """The top-up over `base`; a multiplier rounds the multiplied total down to the whole franc."""
        if self.fixed_amount is not None:
            return self.fixed_amount
        assert self.multiplier_percent is not None
        return base * self.multiplier_percent // 100 - base


@dataclass(frozen=True)
class Entitlement:
    """What one household should receive in one cycle, the base and the top-up kept apart."""

    base: Money
    top_up: Money
    modality: Modality
    provider: str | None

    @property
    def total(self) -> Money:
        return self.base + self.top_up


class TransferScheme(_ValueObject):
    """A programme's transfer scheme: amount rule, duration in cycles, modality and provider routing."""

    programme_code: ProgrammeCode
    modality: Modality
    basis: MonthlyRate | YearlyTranches = Field(discriminator="kind")
    cycles: int = Field(ge=1, le=120)
    size_supplement: SizeSupplement | None = None
    routing: ProviderRouting | None = None
    currency: Currency = XOF

    @model_validator(mode="after")
    def _routable(self) -> Self:
        if self.modality is Modality.MOBILE_MONEY and self.routing is None:
            raise ValueError("a mobile-money scheme needs a provider routing")
        return self

    def cycle_amount(self, *, cycle_no: int, household_size: int = 1) -> Money:
        """The base amount of cycle `cycle_no` (1 for the first cycle), before any top-up."""
        if not 1 <= cycle_no <= self.cycles:
            raise InvalidInput(f"cycle {cycle_no} is outside the scheme's {self.cycles} cycles")
        amount = self.basis.cycle_amount(cycle_no)
        if self.size_supplement is not None:
            amount = self.size_supplement.applied_to(amount, household_size)
        return Money(amount=amount, currency=self.currency)

    def programme_total(self, *, household_size: int = 1) -> Money:
        """What one household receives over the whole scheme, without top-ups."""
        amounts = (
            self.cycle_amount(cycle_no=n, household_size=household_size) for n in range(1, self.cycles + 1)
        )
        return Money(amount=sum(money.amount for money in amounts), currency=self.currency)

    def entitlement(
        self, *, cycle_no: int, household: Household, top_ups: Iterable[TopUp] = ()
    ) -> Entitlement:
        """The household's entitlement for one cycle, with the top-ups of every area it lives in."""
        base = self.cycle_amount(cycle_no=cycle_no, household_size=household.size)
        extra = sum(
            top_up.amount_for(base.amount) for top_up in top_ups if top_up.area.contains(household.location)
        )
        return Entitlement(
            base=base,
            top_up=Money(amount=extra, currency=self.currency),
            modality=self.modality,
            provider=self._provider_for(household),
        )

    def _provider_for(self, household: Household) -> str | None:
        if self.modality is Modality.VOUCHER:
            return None
        assert self.routing is not None
        if household.mobile_operator is None:
            raise InvalidInput("a mobile-money household needs a mobile operator")
        return self.routing.provider_for(household.mobile_operator)
