"""A household as the registry knows it, and the parsing of one raw record into it or into field errors."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any, Literal, NamedTuple

import phonenumbers
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from enrolment.domain.geography import name_key, normalise_cercle, normalise_region, region_of_cercle

Sex = Literal["M", "F"]
Modality = Literal["mobile_money", "voucher"]
Operator = Literal["orange", "moov", "other"]
#: The wealth groups of the Household Economy Approach.
HeaCategory = Literal["very_poor", "poor", "middle", "better_off"]


class FieldError(NamedTuple):
    """Why one field of a record was refused; `field` is the canonical field name (or "row")."""

    field: str
    reason: str


#: Operator by the first digits of the 8-digit national number; the longest matching prefix wins.
#: Source: the +223 carrier data of libphonenumber (phonenumbers 9.0), which follows the regulator's
#: (AMRTP) allocations: "Orange" is Orange Mali, "Sotelma" is Moov Africa Malitel, "Atel" (5x) is the
#: third licence, sold as Telecel, counted as "other". As far as we know Mali has no number portability, so
#: the prefix tells the network. Not checked against the AMRTP's own published plan.
_OPERATOR_BY_PREFIX: dict[str, Operator] = {
    "7": "orange",
    **dict.fromkeys(("82", "83", "84", "85", "90", "91", "92", "93", "94", "200"), "orange"),
    "6": "moov",
    **dict.fromkeys(("89", "95", "96", "97", "98", "99", "2079", "217"), "moov"),
}

_PHONE_PUNCTUATION = re.compile(r"[\s.\-/()]")


def _mali_mobile_pattern() -> re.Pattern[str]:
    """The national-number pattern of Malian mobiles in libphonenumber's metadata."""
    metadata = phonenumbers.PhoneMetadata.metadata_for_region("ML")
    mobile = metadata.mobile if metadata else None
    if mobile is None or mobile.national_number_pattern is None:
        raise RuntimeError("this phonenumbers release has no pattern for Malian mobiles")
    return re.compile(mobile.national_number_pattern)


_MALI_MOBILE = _mali_mobile_pattern()


def normalise_msisdn(raw: str) -> str:
    """E.164 form of a Malian mobile number ("76 12 34 01", "0022376123401" -> "+22376123401").

    Raises ValueError whose message is the reason for the refusal (foreign, fixed line, malformed).
    """
    text = _PHONE_PUNCTUATION.sub("", raw)
    if text.startswith("00"):
        text = "+" + text[2:]
    elif len(text) == 11 and text.startswith("223"):
        text = "+" + text
    if text.startswith("+") and not text.startswith("+223"):
        try:
            country_code = phonenumbers.parse(text).country_code
        except phonenumbers.NumberParseException:
            raise ValueError(f"{raw!r} is not a phone number") from None
        raise ValueError(
            f"{raw!r} is a foreign number (+{country_code}): only Malian numbers (+223) can be paid"
        )
    national = text.removeprefix("+223")
    if len(national) != 8 or not national.isdigit():
        raise ValueError(f"{raw!r} is not a Malian mobile number: expected 8 digits, optionally after +223")
    if _MALI_MOBILE.fullmatch(national):
        return "+223" + national
    number = phonenumbers.PhoneNumber(country_code=223, national_number=int(national))
    if phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.UNKNOWN:
        raise ValueError(f"{raw!r} is not a valid Malian mobile number")
    raise ValueError(f"{raw!r} is a fixed line or service number, not a mobile number")


def operator_of(msisdn: str) -> Operator:
    """The mobile network of an E.164 Malian number, from its prefix."""
    national = msisdn.removeprefix("+223")
    for length in (4, 3, 2, 1):
        operator = _OPERATOR_BY_PREFIX.get(national[:length])
        if operator is not None:
            return operator
    return "other"


def _words(value: Any) -> Any:
    """Strip and collapse inner whitespace of text."""
    return " ".join(value.split()) if isinstance(value, str) else value


def _keyed(choices: Mapping[str, str]) -> BeforeValidator:
    """Read a value through a table of accepted spellings (compared accent- and case-insensitively)."""

    @functools.lru_cache(maxsize=256)
    def spelled(value: str) -> str:
        return choices.get(name_key(value), value)

    def read(value: Any) -> Any:
        return spelled(value) if isinstance(value, str) else value

    return BeforeValidator(read)


_SEXES = {"m": "M", "h": "M", "homme": "M", "masculin": "M", "male": "M"}
_SEXES |= {"f": "F", "femme": "F", "feminin": "F", "female": "F"}
_MODALITIES = {"mobile money": "mobile_money", "argent mobile": "mobile_money", "mm": "mobile_money"}
_MODALITIES |= {"voucher": "voucher", "coupon": "voucher", "bon": "voucher"}
_HEA_CATEGORIES = {
    "very poor": "very_poor",
    "tres pauvre": "very_poor",
    "tres pauvres": "very_poor",
    "poor": "poor",
    "pauvre": "poor",
    "pauvres": "poor",
    "middle": "middle",
    "moyen": "middle",
    "moyens": "middle",
    "better off": "better_off",
    "nanti": "better_off",
    "nantis": "better_off",
}


def _pmt_hundredths(value: Any) -> Any:
    """A PMT score written as a decimal ("12.345", "12,34") -> whole hundredths, rounded half to even."""
    if not isinstance(value, str):
        return value
    try:
        score = Decimal(value.strip().replace(",", "."))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not score.is_finite():
        raise ValueError(f"{value!r} is not a number")
    return int((score * 100).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _programme_ids(value: Any) -> Any:
    """ "JIGISEMEJIRI:JS-0042|CADRE_COMMUN:CC-7" -> {"JIGISEMEJIRI": "JS-0042", "CADRE_COMMUN": "CC-7"}."""
    if not isinstance(value, str):
        return value
    pairs = [item.partition(":") for item in value.split("|") if item.strip()]
    if any(not code.strip() or not sep or not local.strip() for code, sep, local in pairs):
        raise ValueError(f"{value!r}: expected PROGRAMME:id pairs separated by '|'")
    return {code.strip().upper(): local.strip() for code, _, local in pairs}


def _nina(value: Any) -> Any:
    """Numéro d'identification nationale: 14 digits then a check letter, written with or without spaces."""
    if not isinstance(value, str):
        return value
    nina = re.sub(r"[\s\-]", "", value).upper()
    if not re.fullmatch(r"\d{14}[A-Z]", nina):
        raise ValueError(f"{value!r} is not a NINA (14 digits then a letter)")
    return nina


def _msisdn(value: Any) -> Any:
    return normalise_msisdn(value) if isinstance(value, str) else value


Text = Annotated[str, Field(min_length=1, max_length=100), BeforeValidator(_words)]


class Household(BaseModel):
    """One household, validated: its head, where it lives, how it is paid and how it was targeted.

    `pmt_score` is the proxy-means-test score in whole hundredths of a point (12.34 -> 1234), so no float is
    ever stored or compared. `operator` is inferred from the number, never given.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rsu_id: Annotated[str, Field(min_length=1, max_length=40), BeforeValidator(_words)]
    #: This household's id in other programmes' own lists, by programme code.
    programme_ids: Annotated[dict[str, str], BeforeValidator(_programme_ids)] = Field(default_factory=dict)
    head_name: Annotated[str, Field(min_length=2, max_length=200), BeforeValidator(_words)]
    head_sex: Annotated[Sex, _keyed(_SEXES)]
    head_birth_year: Annotated[int, Field(ge=1900)]
    nina: Annotated[str | None, BeforeValidator(_nina)] = None
    size: Annotated[int, Field(ge=1, le=100)]
    region: Text
    cercle: Text
    commune: Text
    village: Text
    preferred_modality: Annotated[Modality, _keyed(_MODALITIES)] = "mobile_money"
    msisdn: Annotated[str | None, BeforeValidator(_msisdn)] = Field(None, validate_default=True)
    pmt_score: Annotated[int | None, Field(ge=-(10**8), le=10**8), BeforeValidator(_pmt_hundredths)] = None
    hea_category: Annotated[HeaCategory | None, _keyed(_HEA_CATEGORIES)] = None

    @property
    def operator(self) -> Operator | None:
        """The mobile network of `msisdn` (None without a number); not a field, so a dump validates again."""
        return operator_of(self.msisdn) if self.msisdn else None

    @field_validator("head_birth_year")
    @classmethod
    def _born_in_the_past(cls, year: int) -> int:
        if year > datetime.now(UTC).year:
            raise ValueError(f"{year} is in the future")
        return year

    @field_validator("region")
    @classmethod
    def _known_region(cls, region: str) -> str:
        official = normalise_region(region)
        if official is None:
            raise ValueError(f"unknown region {region!r}")
        return official

    @field_validator("cercle")
    @classmethod
    def _cercle_of_the_region(cls, cercle: str, info: ValidationInfo) -> str:
        region = info.data.get("region")
        if region is None:  # the region was refused already; nothing to check against
            return cercle
        official = normalise_cercle(region, cercle)
        if official is not None:
            return official
        elsewhere = region_of_cercle(cercle)
        if elsewhere is not None:
            raise ValueError(f"cercle {cercle!r} is in region {elsewhere}, not {region}")
        raise ValueError(f"unknown cercle {cercle!r} in region {region}")

    @field_validator("msisdn")
    @classmethod
    def _mobile_money_needs_a_number(cls, msisdn: str | None, info: ValidationInfo) -> str | None:
        if msisdn is None and info.data.get("preferred_modality") == "mobile_money":
            raise ValueError("required for mobile money")
        return msisdn


def parse_household(raw: Mapping[str, str]) -> Household | list[FieldError]:
    """Turn a raw record (canonical field name -> text) into a household, or into every field's error.

    Empty and blank values count as absent, so a required field left empty is reported as "required".
    """
    try:
        return Household.model_validate({field: value for field, value in raw.items() if value.strip()})
    except ValidationError as error:
        return [FieldError(str(detail["loc"][0]), _reason(detail)) for detail in error.errors()]


def _reason(detail: Any) -> str:
    kind = detail["type"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "value_error":
        return str(detail["ctx"]["error"])
    return str(detail["msg"])
