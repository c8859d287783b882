"""Voucher codes and redemption rules: unguessable, typo-proof, redeemed once, only where and when allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments.domain.vouchers import (
    CODE_LENGTH,
    Vendor,
    Voucher,
    VoucherState,
    damm_check_digit,
    format_voucher_code,
    is_valid_voucher_code,
    new_voucher_code,
    normalise_voucher_code,
)
from shared.errors import Conflict, Forbidden, InvalidInput
from shared.money import xof

NOW = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)
SHOP = Vendor(vendor_id="V-GAO-001", programme_codes=frozenset({"CC"}))
bodies = st.text(alphabet="0123456789", min_size=CODE_LENGTH - 1, max_size=CODE_LENGTH - 1)


def code_from(body: str) -> str:
    return body + damm_check_digit(body)


def issued_voucher() -> Voucher:
    return Voucher.create(programme_code="CC", value=xof(25_000), expires_at=NOW + timedelta(days=30)).issue()


@settings(max_examples=150)
@given(bodies)
def test_the_check_digit_catches_every_single_wrong_digit(body: str) -> None:
    code = code_from(body)
    for position, digit in enumerate(code):
        for wrong in "0123456789".replace(digit, ""):
            assert not is_valid_voucher_code(code[:position] + wrong + code[position + 1 :])


@settings(max_examples=150)
@given(bodies)
def test_the_check_digit_catches_every_swap_of_two_neighbouring_digits(body: str) -> None:
    code = code_from(body)
    for position in range(len(code) - 1):
        swapped = code[:position] + code[position + 1] + code[position] + code[position + 2 :]
        if swapped != code:
            assert not is_valid_voucher_code(swapped)


def test_new_codes_are_valid_distinct_and_grouped_by_four_for_people() -> None:
    codes = {new_voucher_code() for _ in range(2_000)}

    assert len(codes) == 2_000
    assert all(is_valid_voucher_code(code) for code in codes)
    shown = format_voucher_code(next(iter(codes)))
    assert [len(group) for group in shown.split("-")] == [4, 4, 4, 4]
    assert normalise_voucher_code(shown.replace("-", " ")) == shown.replace("-", "")


@pytest.mark.parametrize("text", ["", "1234", "1234-5678-9012-345X", "١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦"])
def test_codes_that_are_not_sixteen_ascii_digits_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        normalise_voucher_code(text)


def test_an_issued_voucher_is_redeemed_once_for_its_whole_value_by_a_registered_vendor() -> None:
    redeemed = issued_voucher().redeem(vendor=SHOP, amount=xof(25_000), at=NOW)

    assert redeemed.state is VoucherState.REDEEMED
    assert (redeemed.redeemed_by, redeemed.redeemed_at) == ("V-GAO-001", NOW)
    with pytest.raises(Conflict):
        redeemed.redeem(vendor=SHOP, amount=xof(25_000), at=NOW)


def test_an_expired_voucher_cannot_be_redeemed_but_can_be_expired() -> None:
    voucher = issued_voucher()
    later = voucher.expires_at

    with pytest.raises(Conflict):
        voucher.redeem(vendor=SHOP, amount=xof(25_000), at=later)
    assert voucher.expire(at=later).state is VoucherState.EXPIRED


def test_a_voucher_before_its_expiry_cannot_be_expired() -> None:
    with pytest.raises(Conflict):
        issued_voucher().expire(at=NOW)


@pytest.mark.parametrize(
    "vendor",
    [
        Vendor(vendor_id="V-X", programme_codes=frozenset({"J"})),
        Vendor(vendor_id="V-Y", programme_codes=frozenset({"CC"}), active=False),
    ],
)
def test_a_vendor_not_registered_for_the_programme_may_not_redeem(vendor: Vendor) -> None:
    with pytest.raises(Forbidden):
        issued_voucher().redeem(vendor=vendor, amount=xof(25_000), at=NOW)


def test_a_voucher_is_not_redeemed_for_part_of_its_value() -> None:
    with pytest.raises(InvalidInput):
        issued_voucher().redeem(vendor=SHOP, amount=xof(20_000), at=NOW)


def test_a_voucher_not_yet_issued_cannot_be_redeemed_and_a_redeemed_one_cannot_be_cancelled() -> None:
    created = Voucher.create(programme_code="CC", value=xof(25_000), expires_at=NOW + timedelta(days=1))

    with pytest.raises(Conflict):
        created.redeem(vendor=SHOP, amount=xof(25_000), at=NOW)
    assert created.cancel().state is VoucherState.CANCELLED
    with pytest.raises(Conflict):
        issued_voucher().redeem(vendor=SHOP, amount=xof(25_000), at=NOW).cancel()


def test_times_without_a_timezone_are_refused() -> None:
    with pytest.raises(InvalidInput):
        issued_voucher().redeem(vendor=SHOP, amount=xof(25_000), at=datetime(2026, 3, 14, 9, 0))  # noqa: DTZ001
