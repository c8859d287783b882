"""Request and response bodies of the enrolment API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class HouseholdIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    rsu_id: str = Field(min_length=1, max_length=40, examples=["RSU-KY-000123"])
    head_name: str = Field(min_length=1, max_length=200)
    head_sex: Literal["F", "M"] | None = None
    head_birth_year: int | None = Field(default=None, ge=1900, le=2100)
    nina: str | None = Field(default=None, max_length=40)
    size: int = Field(ge=1, le=100)
    region: str = Field(min_length=1)
    cercle: str = Field(min_length=1)
    commune: str = Field(min_length=1)
    village: str | None = None
    msisdn: str | None = Field(default=None, pattern=r"^\+223\d{8}$", examples=["+22376123401"])
    operator: Literal["orange", "moov", "other"] | None = None
    preferred_modality: Literal["mobile_money", "voucher"] = "mobile_money"
    pmt_score: int | None = Field(default=None, description="PMT score in hundredths")
    hea_category: str | None = None


class HouseholdOut(HouseholdIn):
    model_config = ConfigDict(extra="ignore")

    id: UUID
    created_at: datetime
    updated_at: datetime
