"""The Damm check digit of voucher codes: payments prints it, reconciliation checks the codes vendors report."""

from __future__ import annotations

# A totally anti-symmetric quasigroup of order 10 (Damm, 2004): row = interim digit, column = next digit.
# It catches every single-digit substitution and every transposition of two adjacent digits.
_TABLE = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_interim(digits: str) -> int:
    """The Damm interim digit of decimal `digits`: the check digit to append, or 0 when the check passes."""
    interim = 0
    for digit in digits:
        interim = _TABLE[interim][int(digit)]
    return interim
