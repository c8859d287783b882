"""Fault scenarios across the whole system: providers down, slow or lying, the broker, a process or the database lost.

One stack for the module; each test pays its own cycle (a period of the scheme) under one fault and then checks
the invariants: every payment of the cycle terminal, each reference paid at most once by the provider, our
states agreeing with what the provider's ledger did, and reconciliation settling exactly what the ledger paid.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from filet.journey import TERMINAL_STATES, Journey, JourneyError
from filet.processes import Child
from filet.registry_sample import generate
from filet.stack import Stack

PROGRAMME = "FILETS"
REGIONS = ["Kayes", "Koulikoro", "Sikasso", "Ségou", "Mopti"]
DIALECTS = ("gsma", "mtn", "wave")
#: A payment left SUBMITTING (dead dispatcher) or SUBMITTED without news this long is looked into again;
#: a provider that has not answered this long is given up on (the payment is then in doubt).
STALE_AFTER_SECONDS = 6
PROVIDER_TIMEOUT_SECONDS = 3


@pytest.fixture(scope="module")
def stack_env() -> dict[str, str]:
    return {
        "FILET_PAYMENTS_STALE_AFTER_SECONDS": str(STALE_AFTER_SECONDS),
        "FILET_PAYMENTS_PROVIDER_TIMEOUT_SECONDS": str(PROVIDER_TIMEOUT_SECONDS),
    }


@pytest.fixture(scope="module")
def enrolled(journey: Journey, stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> int:
    """About 500 households of the south registered, enrolled, validated and activated; a quarterly scheme."""
    registry = tmp_path_factory.mktemp("rsu") / "rsu.csv"
    generate(1150, registry, seed=11, duplicate_percent=0, bad_percent=0)
    journey.import_households(registry)
    journey.create_programme(
        {
            "code": PROGRAMME,
            "name": "Filets sociaux (pannes)",
            "zone": [{"region": region} for region in REGIONS],
            "duration_months": 36,
            "targeting_method": "pmt",
        }
    )
    for region in REGIONS:
        journey.enrol(PROGRAMME, filter={"region": region})
    journey.move(PROGRAMME, "registered", "target")
    journey.move(
        PROGRAMME,
        "targeted",
        "validate",
        validation={"who": "comité villageois", "when": datetime.now(UTC).isoformat(), "where": "Kita"},
    )
    start = datetime.now(UTC) - timedelta(days=3 * 365 + 2)
    active = journey.move(PROGRAMME, "validated", "activate", at=start.isoformat())
    journey.define_scheme(
        {
            "programme_code": PROGRAMME,
            "reference_code": "F",
            "first_period": "2026-Q1",
            "modality": "mobile_money",
            "basis": {"kind": "monthly_rate", "monthly_amount": 10_000, "every_months": 3},
            "cycles": 12,
            "routing": {"orange": "gsma", "moov": "mtn", "other": "wave"},
        }
    )
    journey.wait_for_beneficiaries(PROGRAMME, active, timeout=120)
    for dialect in DIALECTS:
        journey.call(
            "POST",
            "reconciliation",
            "/v1/accounts",
            json={"account_id": _account(stack, dialect), "provider": dialect},
        )
    return active


@pytest.fixture(autouse=True)
def well_behaved_provider(stack: Stack) -> Iterator[None]:
    """Each test starts and ends with the simulator's start-up behaviour (its ledger is kept)."""
    # Each dialect named: the simulator ignores an empty `all` layer (`PUT {"all": {}}` resets nothing).
    defaults: dict[str, Any] = {dialect: {} for dialect in (*DIALECTS, "orange")}
    _behave(stack, defaults, method="PUT")
    yield
    _behave(stack, defaults, method="PUT")


# --- helpers -------------------------------------------------------------------------------------------------


def _simulator(stack: Stack, method: str, path: str, **options: Any) -> Any:
    answer = httpx.request(method, f"{stack.url('simulator')}{path}", timeout=30, **options)
    answer.raise_for_status()
    return answer.json() if answer.headers.get("content-type", "").startswith("application/json") else answer


def _behave(stack: Stack, knobs: dict[str, Any], *, method: str = "PATCH") -> None:
    _simulator(stack, method, "/_admin/behaviour", json=knobs)


def _account(stack: Stack, dialect: str) -> str:
    return str(_simulator(stack, "GET", "/_admin/config")["accounts"][dialect]["id"])


def _release(journey: Journey, period: str) -> str:
    return str(journey.run_cycle(PROGRAMME, period, funding_line="IDA")["id"])


def _payments(journey: Journey, cycle_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = journey.call(
            "GET", "payments", f"/v1/cycles/{cycle_id}/payments?limit=500&offset={len(items)}", as_="auditor"
        )
        items += page["items"]
        if not page["items"] or len(items) >= page["total"]:
            return items


def _by_state(journey: Journey, cycle_id: str) -> dict[str, int]:
    summary = journey.cycle(cycle_id)["summary"]
    return {state: int(figures.get("count", 0)) for state, figures in summary.get("by_state", {}).items()}


def _wait_for_states(journey: Journey, cycle_id: str, what: str, enough: Any, timeout: float = 60) -> None:
    journey.wait(what, lambda: bool(enough(_by_state(journey, cycle_id))), timeout=timeout, every=0.05)


def _references(stack: Stack) -> dict[str, dict[str, Any]]:
    """What the provider really did, per our reference (`times_paid`, `amount_paid`, …)."""
    return dict(_simulator(stack, "GET", "/_admin/ledger")["references"])


def _summary(stack: Stack) -> dict[str, Any]:
    return dict(_simulator(stack, "GET", "/_admin/ledger/summary"))


def _histories(journey: Journey, payments: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each payment's state history (every transition, duplicate and refusal), by payment id."""

    # Its own client without keep-alive: a connection the server closed while idle is never reused mid-read.
    headers = {"Authorization": f"Bearer {journey.tokens['auditor']}"}
    with httpx.Client(
        base_url=journey.urls["payments"],
        headers=headers,
        timeout=30,
        limits=httpx.Limits(max_keepalive_connections=0),
    ) as client:

        def history(payment: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
            answer = client.get(f"/v1/payments/{payment['id']}")
            answer.raise_for_status()
            return payment["id"], list(answer.json()["history"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            return dict(pool.map(history, payments))


def _settled(journey: Journey, stack: Stack, cycle_id: str, *, timeout: float = 120) -> list[dict[str, Any]]:
    """Wait until the cycle closes, then check what must hold after any fault; returns its payments."""
    try:
        journey.wait_until_paid(cycle_id, timeout=timeout)
    except JourneyError:
        stuck = [p for p in _payments(journey, cycle_id) if p["state"] not in TERMINAL_STATES]
        details = _histories(journey, stuck[:3])
        raise AssertionError(
            f"{len(stuck)} payments not terminal ({_by_state(journey, cycle_id)}), e.g. {details}"
        ) from None
    payments = _payments(journey, cycle_id)
    references = _references(stack)
    assert payments
    assert {p["state"] for p in payments} <= set(TERMINAL_STATES)
    assert _summary(stack)["references"]["paid_more_than_once"] == 0
    for payment in payments:
        ledger = references.get(payment["reference"], {"payments": 0, "times_paid": 0, "amount_paid": 0})
        # One attempt, one provider key: a resend while in doubt never makes a second payment at the provider.
        assert payment["attempt_no"] == 1, payment
        assert ledger["payments"] <= 1, (payment, ledger)
        paid = payment["state"] in ("SUCCEEDED", "REVERSED")
        assert ledger["times_paid"] == int(paid), (payment, ledger)
        assert ledger["amount_paid"] == (payment["amount"] if paid else 0), (payment, ledger)
    return payments


def _reconciles(journey: Journey, stack: Stack, cycle_id: str, payments: list[dict[str, Any]]) -> None:
    """Today's statements imported: reconciliation settles exactly what the provider's ledger paid."""
    for dialect in DIALECTS:
        statement = _simulator(
            stack, "GET", "/_admin/statements/camt053", params={"account": _account(stack, dialect)}
        )
        journey.import_statement(statement.content, content_type="application/xml")
    references = _references(stack)
    paid = sum(int(references.get(p["reference"], {}).get("amount_paid", 0)) for p in payments)

    def settled() -> bool:
        total = journey.reconciliation(cycle_id)["total"]
        return bool(total["settled"]["settled_amount"] == paid)

    journey.wait("reconciliation to settle what the ledger paid", settled, timeout=60)
    total = journey.reconciliation(cycle_id)["total"]
    assert total["instructed"]["count"] == len(payments)
    assert total["instructed"]["amount"] == sum(p["amount"] for p in payments)


def _child(stack: Stack, name: str) -> Child:
    return next(child for child in stack.supervisor.children if child.name == name and child.running)


def _kill(stack: Stack, name: str) -> None:
    """kill -9 of one of the stack's processes: no shutdown, whatever it was doing is cut off."""
    child = _child(stack, name)
    child.process.send_signal(signal.SIGKILL)
    child.process.wait(10)
    stack.supervisor.children.remove(child)


def _start(stack: Stack, name: str, module: str) -> None:
    stack.supervisor.start(name, [sys.executable, "-m", module], env=stack.child_env())


# --- scenarios -----------------------------------------------------------------------------------------------


def test_the_provider_refusing_connections_during_a_release_delays_payments_but_pays_none_twice(
    journey: Journey, stack: Stack, enrolled: int
) -> None:
    _behave(stack, {"all": {"down": {"seconds": 30, "mode": "refuse"}}})
    cycle_id = _release(journey, "2026-Q1")
    _wait_for_states(journey, cycle_id, "payments in doubt while refused", lambda s: s.get("UNKNOWN", 0) > 0)

    payments = _settled(journey, stack, cycle_id)

    assert sum(1 for p in payments if p["state"] == "SUCCEEDED") > 0.9 * len(payments)
    _reconciles(journey, stack, cycle_id, payments)


def test_a_slow_provider_answering_5xx_and_timing_out_is_settled_by_status_queries_with_the_same_key(
    journey: Journey, stack: Stack, enrolled: int
) -> None:
    before = _summary(stack)
    _behave(
        stack,
        {
            "all": {
                "latency": {"fixed_ms": 20, "jitter_ms": 60},
                # Hanging longer than the dispatcher waits: a real client timeout; half of them paid anyway.
                "timeouts": {
                    "rate": 0.15,
                    "executed_share": 0.5,
                    "mode": "mixed",
                    "hang_seconds": 2 * PROVIDER_TIMEOUT_SECONDS,
                },
                "server_errors": {"rate": 0.15, "executed_share": 0.5},
            }
        },
    )
    cycle_id = _release(journey, "2026-Q2")

    payments = _settled(journey, stack, cycle_id)

    after = _summary(stack)
    assert after["incidents_executed"] > before["incidents_executed"]  # requests lost after paying
    assert sum(after["incidents"].values()) > sum(before["incidents"].values()) + 0.1 * len(payments)
    assert sum(1 for p in payments if p["state"] == "SUCCEEDED") > 0.9 * len(payments)
    histories = _histories(journey, payments)
    in_doubt = [p for p in payments if any(h["to_state"] == "UNKNOWN" for h in histories[p["id"]])]
    assert in_doubt
    for payment in in_doubt:  # sent again only ever with the attempt's own key
        sends = [
            h["reason"] for h in histories[payment["id"]] if h["reason"].startswith("submitting with key")
        ]
        assert all(reason.endswith(str(payment["provider_request_key"])) for reason in sends), sends
    assert any(h["source"].startswith("query:") for p in in_doubt for h in histories[p["id"]])
    _reconciles(journey, stack, cycle_id, payments)


def test_duplicate_and_out_of_order_callbacks_at_volume_confirm_each_payment_once_and_final_states_stick(
    journey: Journey, stack: Stack, enrolled: int
) -> None:
    before = _summary(stack)["callbacks"]
    _behave(stack, {"all": {"duplicate_callbacks": 0.5, "out_of_order_callbacks": 0.3}})
    cycle_id = _release(journey, "2026-Q3")

    payments = _settled(journey, stack, cycle_id)
    # The anomalies come after the final callback: wait until the simulator has delivered them all.
    journey.wait(
        "every callback delivered",
        lambda: _summary(stack)["callbacks"]["queued"] == 0,
        timeout=60,
    )

    after = _summary(stack)["callbacks"]
    callbacks = after["delivered"] - before["delivered"]
    assert len(payments) >= 400
    assert callbacks > 1.5 * sum(1 for p in payments if p["provider"] != "gsma")
    histories = _histories(journey, payments)
    again = _payments(journey, cycle_id)
    assert [(p["id"], p["state"]) for p in again] == [(p["id"], p["state"]) for p in payments]
    for payment in payments:
        finals = [
            h
            for h in histories[payment["id"]]
            if h["outcome"] == "transitioned" and h["to_state"] in TERMINAL_STATES
        ]
        assert [h["to_state"] for h in finals] == [payment["state"]], histories[payment["id"]]
        after_final = histories[payment["id"]][histories[payment["id"]].index(finals[0]) + 1 :]
        assert all(h["outcome"] != "transitioned" for h in after_final), histories[payment["id"]]


def test_a_broker_restarted_mid_cycle_loses_no_instruction_on_the_way_to_reconciliation(
    journey: Journey, stack: Stack, enrolled: int
) -> None:
    assert stack.broker is not None
    _behave(stack, {"all": {"latency": {"fixed_ms": 200}}})
    cycle_id = _release(journey, "2026-Q4")
    _wait_for_states(
        journey,
        cycle_id,
        "payments being instructed",
        lambda s: s.get("SUBMITTING", 0) + s.get("SUBMITTED", 0),
    )

    stack.broker.restart()

    payments = _settled(journey, stack, cycle_id)
    succeeded = sum(1 for p in payments if p["state"] == "SUCCEEDED")

    def reconciliation_knows_all() -> bool:
        total = journey.reconciliation(cycle_id)["total"]
        return bool(
            total["instructed"]["count"] == len(payments) and total["confirmed"]["count"] == succeeded
        )

    journey.wait(
        "reconciliation to hear of every instruction and outcome", reconciliation_knows_all, timeout=90
    )
    assert not stack.supervisor.dead()


def test_the_dispatcher_killed_mid_release_pays_nobody_twice_once_started_again(
    journey: Journey, stack: Stack, enrolled: int
) -> None:
    # MTN's sends, one request each, take ~5 s: the dispatcher is killed with many of them in flight, not in
    # the instant between the last answer and its record (a race the assertion below would then lose).
    _behave(stack, {"all": {"latency": {"fixed_ms": 300}}, "mtn": {"latency": {"fixed_ms": 1500}}})
    cycle_id = _release(journey, "2027-Q1")
    _wait_for_states(
        journey,
        cycle_id,
        "a release half sent",
        lambda s: (
            s.get("SUBMITTING", 0) and s.get("SUBMITTED", 0) + s.get("PENDING", 0) + s.get("SUCCEEDED", 0)
        ),
    )

    _kill(stack, "payments-dispatcher")
    assert _by_state(journey, cycle_id).get("SUBMITTING", 0) > 0  # left mid-send by the dead dispatcher
    _start(stack, "payments-dispatcher", "payments.dispatcher")
    _behave(stack, {"all": {"latency": {"fixed_ms": 0}}})

    payments = _settled(journey, stack, cycle_id)

    assert sum(1 for p in payments if p["state"] == "SUCCEEDED") > 0.9 * len(payments)
    _reconciles(journey, stack, cycle_id, payments)


def test_the_payments_relay_and_the_reconciliation_consumer_killed_mid_stream_lose_and_double_nothing(
    journey: Journey, stack: Stack, enrolled: int
) -> None:
    """Both killed wherever they are in their loops while payments' news flows (the relay's exact window between
    publishing and marking has its own test, in tests/integration/test_outbox_and_inbox.py): started again,
    the relay publishes what it had not marked and the consumer applies each fact once."""
    # MTN's sends take ~5 s: the processes are killed with payments' news still to come.
    _behave(stack, {"all": {"latency": {"fixed_ms": 200}}, "mtn": {"latency": {"fixed_ms": 1500}}})
    cycle_id = _release(journey, "2027-Q3")
    _wait_for_states(
        journey,
        cycle_id,
        "payments being confirmed",
        lambda s: s.get("SUCCEEDED", 0) and s.get("SUBMITTING", 0) + s.get("SUBMITTED", 0),
    )

    _kill(stack, "payments-relay")
    _kill(stack, "reconciliation-consumer")
    path = f"/v1/cycles/{cycle_id}/reconciliation"
    before = journey.call("GET", "reconciliation", path, as_="auditor", expect=(200, 404))
    _start(stack, "payments-relay", "payments.relay")
    _start(stack, "reconciliation-consumer", "reconciliation.consumer")
    _behave(stack, {"all": {"latency": {"fixed_ms": 0}}})

    payments = _settled(journey, stack, cycle_id)

    summary = journey.wait_for_reconciliation(cycle_id, journey.cycle(cycle_id), timeout=90)
    # Killed while payments' news was still on its way to reconciliation.
    assert before.get("payment_states") != summary["payment_states"]
    assert summary["total"]["instructed"]["count"] == len(payments)
    _reconciles(journey, stack, cycle_id, payments)
    assert not stack.supervisor.dead()


def test_the_database_restarted_mid_cycle_every_process_reconnects_and_the_cycle_closes(
    journey: Journey, stack: Stack, enrolled: int
) -> None:
    assert stack.postgres is not None
    _behave(stack, {"all": {"latency": {"fixed_ms": 300}}})
    cycle_id = _release(journey, "2027-Q2")
    _wait_for_states(
        journey, cycle_id, "a release half sent", lambda s: s.get("SUBMITTED", 0) + s.get("SUCCEEDED", 0)
    )

    stack.postgres.stop()
    stack.postgres.start()
    _behave(stack, {"all": {"latency": {"fixed_ms": 0}}})

    payments = _settled(journey, stack, cycle_id)

    assert not stack.supervisor.dead()
    assert sum(1 for p in payments if p["state"] == "SUCCEEDED") > 0.9 * len(payments)
    _reconciles(journey, stack, cycle_id, payments)
