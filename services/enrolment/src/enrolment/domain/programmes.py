"""A programme: its code and name, the zone it covers, how long households stay, how they are targeted."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationInfo, field_validator

from enrolment.domain.geography import name_key, normalise_cercle, normalise_region
from enrolment.domain.households import Household
from shared.errors import Conflict

#: PMT: proxy means test score (chronic poverty); HEA: household economy approach wealth group (food
#: insecurity now); categorical: a category of people (e.g. every household with a child under five).
TargetingMethod = Literal["pmt", "hea", "categorical"]


class Area(BaseModel):
    """Part of a programme's zone: a whole region, one of its cercles, or one commune of that cercle.

    Region and cercle are checked against the reference list and kept in their official spelling; the
    commune is free text (compared accent- and case-insensitively).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    region: str
    cercle: str | None = None
    commune: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)] | None = (
        None
    )

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        official = normalise_region(region)
        if official is None:
            raise ValueError(f"unknown region {region!r}")
        return official

    @field_validator("cercle")
    @classmethod
    def _cercle_of_the_region(cls, cercle: str | None, info: ValidationInfo) -> str | None:
        region = info.data.get("region")
        if cercle is None or region is None:
            return cercle
        official = normalise_cercle(region, cercle)
        if official is None:
            raise ValueError(f"no cercle {cercle!r} in region {region}")
        return official

    @field_validator("commune")
    @classmethod
    def _commune_within_a_cercle(cls, commune: str | None, info: ValidationInfo) -> str | None:
        if commune is not None and info.data.get("cercle") is None:
            raise ValueError("a commune needs its cercle")
        return commune

    def covers(self, household: Household) -> bool:
        """Whether the household lives in this area."""
        return (
            household.region == self.region
            and (self.cercle is None or household.cercle == self.cercle)
            and (self.commune is None or name_key(household.commune) == name_key(self.commune))
        )


class Programme(BaseModel):
    """A social safety-net programme (e.g. JIGISEMEJIRI): a value object, identified by its code."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z][A-Z0-9_]{1,31}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    zone: Annotated[tuple[Area, ...], Field(min_length=1)]
    #: How long a household stays, counted from its activation; then it exits automatically.
    duration_months: Annotated[int, Field(ge=1, le=120)]
    targeting_method: TargetingMethod
    #: The most households that may be enrolled at once (not exited); None: no limit.
    capacity: Annotated[int | None, Field(ge=1)] = None

    def covers(self, household: Household) -> bool:
        """Whether the household lives in the programme's zone."""
        return any(area.covers(household) for area in self.zone)

    def ensure_room(self, *, enrolled: int, adding: int) -> None:
        """Conflict if `adding` more households would exceed the capacity, `enrolled` being enrolled now."""
        if self.capacity is not None and enrolled + adding > self.capacity:
            raise Conflict(
                f"programme {self.code} has room for {max(self.capacity - enrolled, 0)} more households, "
                f"not {adding}",
                details={"capacity": self.capacity, "enrolled": enrolled, "adding": adding},
            )
