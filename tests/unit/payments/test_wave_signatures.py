"""Wave webhook signatures: HMAC-SHA256 over t + raw body, five minutes' tolerance, secrets rotated in place."""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from payments.domain.payments import Authenticity
from payments.providers import wave
from payments.providers.events import DiscardedCallback, ProviderEvent
from payments.providers.wave import SignatureCheck, verify_signature

SIGNED_AT = 1_742_202_770
NOW = datetime.fromtimestamp(SIGNED_AT + 30, UTC)
OLD, NEW = "wave_ml_WHS_old_secret", "wave_ml_WHS_new_secret"
BODY = (
    b'{"id":"EV_1","type":"payout.succeeded","data":{"id":"pt-1","currency":"XOF","receive_amount":"30000",'
    b'"fee":"300","mobile":"+22378345621","client_reference":"J26Q1-000021","status":"succeeded",'
    b'"timestamp":"2025-03-17T09:12:44Z"}}'
)


def signature(secret: str, body: bytes = BODY, signed_at: int = SIGNED_AT, separator: bytes = b"") -> str:
    return hmac.new(secret.encode(), str(signed_at).encode() + separator + body, hashlib.sha256).hexdigest()


def header(*signatures: str, signed_at: int = SIGNED_AT) -> str:
    return ",".join([f"t={signed_at}", *(f"v1={value}" for value in signatures)])


def test_a_body_signed_with_our_secret_is_valid() -> None:
    assert verify_signature(header(signature(NEW)), BODY, [NEW], now=NOW) is SignatureCheck.VALID


def test_the_t_dot_body_variant_is_accepted_too() -> None:
    signed = signature(NEW, separator=b".")

    assert verify_signature(header(signed), BODY, [NEW], now=NOW) is SignatureCheck.VALID


def test_a_tampered_body_does_not_verify() -> None:
    tampered = BODY.replace(b'"30000"', b'"300000"')

    assert verify_signature(header(signature(NEW)), tampered, [NEW], now=NOW) is SignatureCheck.MISMATCH


def test_a_signature_with_a_secret_we_do_not_hold_does_not_verify() -> None:
    assert (
        verify_signature(header(signature("someone-else")), BODY, [NEW], now=NOW) is SignatureCheck.MISMATCH
    )


@pytest.mark.parametrize(("offset", "check"), [(300, SignatureCheck.VALID), (301, SignatureCheck.STALE)])
def test_a_signature_older_than_five_minutes_is_stale(offset: int, check: SignatureCheck) -> None:
    later = datetime.fromtimestamp(SIGNED_AT + offset, UTC)

    assert verify_signature(header(signature(NEW)), BODY, [NEW], now=later) is check


def test_a_timestamp_too_far_in_the_future_is_stale_too() -> None:
    earlier = datetime.fromtimestamp(SIGNED_AT, UTC) - timedelta(seconds=301)

    assert verify_signature(header(signature(NEW)), BODY, [NEW], now=earlier) is SignatureCheck.STALE


def test_during_rotation_both_the_old_and_the_new_secret_verify() -> None:
    assert verify_signature(header(signature(OLD)), BODY, [NEW, OLD], now=NOW) is SignatureCheck.VALID
    assert verify_signature(header(signature(NEW)), BODY, [NEW, OLD], now=NOW) is SignatureCheck.VALID


def test_after_rotation_the_retired_secret_no_longer_verifies() -> None:
    assert verify_signature(header(signature(OLD)), BODY, [NEW], now=NOW) is SignatureCheck.MISMATCH


def test_one_matching_v1_among_several_is_enough() -> None:
    both = header(signature(OLD), signature(NEW))

    assert verify_signature(both, BODY, [NEW], now=NOW) is SignatureCheck.VALID


@pytest.mark.parametrize(
    ("value", "check"),
    [
        (None, SignatureCheck.MISSING),
        ("", SignatureCheck.MISSING),
        ("v1=abc", SignatureCheck.MALFORMED),
        ("t=yesterday,v1=abc", SignatureCheck.MALFORMED),
        ("t=1742202770", SignatureCheck.MALFORMED),
        ("t=1,t=2,v1=abc", SignatureCheck.MALFORMED),
        ("t=99999999999999999999999,v1=abc", SignatureCheck.MALFORMED),
        ("t=1742202770,v1=zz☃", SignatureCheck.MISMATCH),
    ],
)
def test_a_missing_or_malformed_header_never_verifies_and_never_raises(
    value: str | None, check: SignatureCheck
) -> None:
    assert verify_signature(value, BODY, [NEW], now=NOW) is check


def test_a_signed_payout_webhook_becomes_a_signature_valid_event() -> None:
    headers = {"content-type": "application/json", "wave-signature": header(signature(NEW))}

    event = wave.parse_callback(headers, BODY, {}, received_at=NOW, secrets=[NEW])

    assert isinstance(event, ProviderEvent)
    assert event.authenticity is Authenticity.SIGNATURE_VALID
    assert (event.event_key, event.instruction_id, event.amount, event.fee) == (
        "wave:EV_1",
        "J26Q1-000021",
        30_000,
        300,
    )


def test_a_badly_signed_webhook_is_discarded_with_401() -> None:
    headers = {"Wave-Signature": header(signature(OLD))}

    discarded = wave.parse_callback(headers, BODY, {}, received_at=NOW, secrets=[NEW])

    assert discarded == DiscardedCallback("Wave-Signature mismatch", 401)


def test_a_signed_event_that_is_not_about_a_payout_is_acknowledged_and_discarded() -> None:
    body = b'{"id":"EV_2","type":"merchant.payment_received","data":{"amount":"100"}}'
    headers = {"Wave-Signature": header(signature(NEW, body))}

    discarded = wave.parse_callback(headers, body, {}, received_at=NOW, secrets=[NEW])

    assert isinstance(discarded, DiscardedCallback)
    assert discarded.http_status == 200
