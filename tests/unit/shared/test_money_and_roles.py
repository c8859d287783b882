"""Money is whole XOF francs; roles are the six the design names."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.auth import InvalidRole, check_role, hash_token
from shared.money import Money, xof


def test_amounts_are_whole_francs_and_floats_are_refused_not_rounded() -> None:
    with pytest.raises(ValidationError):
        Money(amount=30000.5)
    with pytest.raises(ValidationError):
        Money(amount=30000.0)


def test_negative_amounts_and_other_currencies_are_refused() -> None:
    with pytest.raises(ValidationError):
        Money(amount=-1)
    with pytest.raises(ValidationError):
        Money(amount=1, currency="EUR")


def test_a_quarter_of_jigisemejiri_is_three_months_of_ten_thousand() -> None:
    assert xof(10_000).times(3) == xof(30_000)
    assert xof(30_000) + xof(30_000) == xof(60_000)
    assert str(xof(1_320_000_000)) == "1 320 000 000 XOF"


@pytest.mark.parametrize(
    "role", ["operator", "approver", "auditor", "admin", "provider:orange-ml", "vendor:V042"]
)
def test_the_six_kinds_of_role_are_accepted(role: str) -> None:
    assert check_role(role) == role


@pytest.mark.parametrize("role", ["root", "provider:", "vendor:has space", "Operator", ""])
def test_other_roles_are_refused(role: str) -> None:
    with pytest.raises(InvalidRole):
        check_role(role)


def test_a_token_hash_does_not_contain_the_token() -> None:
    token = "filet_abcdefghijklmnopqrstuvwxyz0123456789"

    assert token not in hash_token(token)
    assert hash_token(token) == hash_token(token)
