"""Payment instruction references: at most 16 SWIFT-X characters, stable for each attempt of a payment.

Shape: programme code (1–3 of A–Z0–9, a letter first) + period tag + `-` + a 6-digit sequence, e.g.
`J26Q1-000041` (Jigisemejiri, 2026-Q1, household sequence 41) or `PMT25Q1-000041`. The period tag is
the two-digit year and the period letter and number (`26Q1`, `26S2`, `26M03`), so years 2000–2099.
The first attempt uses the instruction reference itself; a re-issue appends one letter naming the attempt
(`B` for the 2nd, `C` for the 3rd … `Z` for the 26th): `J26Q1-000041B`. The longest reference is 16.
"""

from __future__ import annotations

import re
import string

from payments.domain.schemes import Period, PeriodKind
from shared.errors import InvalidInput

MAX_REFERENCE_LENGTH = 16
SWIFT_X_CHARACTERS = frozenset(string.ascii_letters + string.digits + "/-?:().,'+ ")
MAX_SEQUENCE = 999_999
MAX_ATTEMPTS = 26

_PROGRAMME_CODE = re.compile(r"^[A-Z][A-Z0-9]{0,2}$")


#: A reference that can travel everywhere, in one match (every payment checks its reference when built,
#: several times over its life; py-spy sampled the three rules checked one by one at ~5 % of the dispatcher,
#: though its measured CPU per payment did not move after this).
_VALID_REFERENCE = re.compile(r"(?!/)(?!.*//)[A-Za-z0-9/\-?:().,'+ ]{1,16}(?<!/)")


def validate_reference(text: str) -> str:
    """Return `text` if it can travel as a reference everywhere (MT940 `16x`), else refuse it."""
    if _VALID_REFERENCE.fullmatch(text):
        return text
    # Refused: say which rule.
    if not text or len(text) > MAX_REFERENCE_LENGTH:
        raise InvalidInput(f"a reference has 1 to {MAX_REFERENCE_LENGTH} characters: {text!r}")
    if not set(text) <= SWIFT_X_CHARACTERS:
        raise InvalidInput(f"a reference uses only SWIFT-X characters: {text!r}")
    raise InvalidInput(f"a reference neither starts nor ends with '/' nor holds '//': {text!r}")


def _period_tag(period: Period) -> str:
    if not 2000 <= period.year <= 2099:
        raise InvalidInput(f"references carry years 2000 to 2099, not {period.year}")
    number = f"{period.number:02d}" if period.kind is PeriodKind.MONTH else str(period.number)
    return f"{period.year % 100:02d}{period.kind.value}{number}"


def instruction_reference(programme_code: str, period: Period, sequence: int) -> str:
    """The reference of a household's payment instruction in one cycle: `J26Q1-000041`."""
    if not _PROGRAMME_CODE.match(programme_code):
        raise InvalidInput(f"a programme short code is 1 to 3 of A-Z0-9, a letter first: {programme_code!r}")
    if not 1 <= sequence <= MAX_SEQUENCE:
        raise InvalidInput(f"a sequence is 1 to {MAX_SEQUENCE}: {sequence}")
    return validate_reference(f"{programme_code}{_period_tag(period)}-{sequence:06d}")


def attempt_reference(instruction_id: str, attempt_no: int) -> str:
    """The reference sent to the provider for one attempt: the instruction's own, plus a letter on re-issues."""
    if not 1 <= attempt_no <= MAX_ATTEMPTS:
        raise InvalidInput(f"an attempt number is 1 to {MAX_ATTEMPTS}: {attempt_no}")
    suffix = "" if attempt_no == 1 else string.ascii_uppercase[attempt_no - 1]
    return validate_reference(instruction_id + suffix)
