"""Released cycles paid through the simulator over real HTTP: GSMA batches, MTN and Wave one by one, and trouble."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, event, text

from payments.dispatcher import Dispatcher

Flow = Any
Seed = Any
FINAL = {"SUCCEEDED", "FAILED", "REJECTED"}


def _final(states: Callable[[str], dict[str, int]], cycle_id: str, count: int) -> Callable[[], bool]:
    return lambda: sum(n for s, n in states(cycle_id).items() if s in FINAL) == count


def _paid_once(sim: httpx.Client, references: list[str]) -> None:
    for reference in references:
        view = sim.get("/_admin/ledger", params={"reference": reference}).json()
        assert view["references"][reference]["times_paid"] <= 1, reference


def _references(db: Engine, cycle_id: str) -> list[str]:
    with db.connect() as conn:
        return list(
            conn.execute(
                text('SELECT reference FROM "payments".payment WHERE cycle_id = :c'), {"c": cycle_id}
            ).scalars()
        )


def _inbox_empty(db: Engine) -> bool:
    """Every callback received so far has been processed (the dispatcher applies them from the inbox)."""
    with db.connect() as conn:
        return not conn.execute(
            text('SELECT count(*) FROM "payments".raw_callback WHERE outcome IS NULL')
        ).scalar_one()


@pytest.mark.parametrize(("operator", "provider"), [("orange", "gsma"), ("moov", "mtn"), ("other", "wave")])
def test_a_released_cycle_is_paid_through_each_provider_and_closes(
    flow: Flow,
    seed: Seed,
    sim: httpx.Client,
    driven: Any,
    states: Any,
    db: Engine,
    operator: str,
    provider: str,
) -> None:
    flow.scheme()
    seed(count=5, operator=operator)
    cycle_id = flow.released()

    driven(lambda: flow.cycle_view(cycle_id)["state"] == "closed")

    assert states(cycle_id) == {"SUCCEEDED": 5}
    view = flow.cycle_view(cycle_id)
    assert view["summary"]["by_provider"] == {provider: {"count": 5, "amount": 150_000}}
    ledger = sim.get(
        "/_admin/ledger", params={"dialect": {"gsma": "gsma", "mtn": "mtn", "wave": "wave"}[provider]}
    ).json()
    assert ledger["count"] == 5
    _paid_once(sim, _references(db, cycle_id))


def test_a_payment_shows_its_whole_state_history(
    flow: Flow, seed: Seed, sim: httpx.Client, driven: Any, states: Any, db: Engine
) -> None:
    flow.scheme()
    seed(count=1, operator="moov")
    cycle_id = flow.released()
    final = _final(states, cycle_id, 1)
    driven(lambda: final() and _inbox_empty(db))

    payment = flow.api.get(
        f"/v1/cycles/{cycle_id}/payments?state=succeeded", headers=flow.auth("auditor")
    ).json()["items"][0]
    detail = flow.api.get(f"/v1/payments/{payment['id']}", headers=flow.auth("auditor")).json()

    moves = [
        (step["from_state"], step["to_state"])
        for step in detail["history"]
        if step["outcome"] == "transitioned"
    ]
    assert moves[:3] == [(None, "APPROVED"), ("APPROVED", "SUBMITTING"), ("SUBMITTING", "SUBMITTED")]
    assert moves[-1][1] == "SUCCEEDED"
    with db.connect() as conn:
        raw = conn.execute(text('SELECT provider, path, outcome, detail FROM "payments".raw_callback')).all()
    assert [(provider, outcome) for provider, _, outcome, _ in raw] == [("mtn", "applied")]
    assert any(step["outcome"] == "unconfirmed" for step in detail["history"])  # the unsigned callback


def test_recipients_the_provider_cannot_find_end_failed_and_are_listed_for_follow_up(
    flow: Flow, seed: Seed, sim: httpx.Client, driven: Any, states: Any
) -> None:
    sim.patch("/_admin/behaviour", json={"mtn": {"failures": {"RECIPIENT_NOT_FOUND": 1.0}}})
    flow.scheme()
    seed(count=3, operator="moov")
    cycle_id = flow.released()

    driven(_final(states, cycle_id, 3))

    failed = flow.api.get(
        f"/v1/cycles/{cycle_id}/payments?state=FAILED", headers=flow.auth("operator" if False else "maker")
    ).json()
    assert failed["total"] == 3
    assert {item["failure_code"] for item in failed["items"]} == {"RECIPIENT_NOT_FOUND"}


def test_the_operators_view_adds_up_a_cycle_by_state_provider_region_commune_and_modality(
    flow: Flow, seed: Seed, sim: httpx.Client, driven: Any, states: Any
) -> None:
    sim.patch("/_admin/behaviour", json={"mtn": {"failures": {"RECIPIENT_NOT_FOUND": 1.0}}})
    flow.scheme()
    seed(count=3, operator="orange", region="Kayes", commune="Kita")
    seed(count=2, operator="moov", region="Ségou", commune="Markala")
    created = flow.cycle().json()
    assert created["summary"]["by_state"] == {"ENTITLED": {"count": 5, "amount": 150_000}}
    cycle_id = str(created["id"])
    for step, who in (("submission", "maker"), ("approval", "checker"), ("release", "maker")):
        assert flow.decide(cycle_id, step, who).status_code in (200, 202)

    driven(_final(states, cycle_id, 5))

    summary = flow.cycle_view(cycle_id)["summary"]
    three, two = {"count": 3, "amount": 90_000}, {"count": 2, "amount": 60_000}
    assert summary["total"] == {"count": 5, "amount": 150_000}
    assert summary["by_state"] == {"SUCCEEDED": three, "FAILED": two}
    assert summary["by_provider"] == {"gsma": three, "mtn": two}
    assert summary["by_region"] == {"Kayes": three, "Ségou": two}
    assert summary["by_commune"] == {"Kita": three, "Markala": two}
    assert summary["by_modality"] == {"mobile_money": {"count": 5, "amount": 150_000}}


def test_a_cycles_progress_counts_its_payments_by_state_until_none_is_open(
    flow: Flow, seed: Seed, sim: httpx.Client, driven: Any
) -> None:
    sim.patch("/_admin/behaviour", json={"mtn": {"failures": {"RECIPIENT_NOT_FOUND": 1.0}}})
    flow.scheme()
    seed(count=3, operator="orange")
    seed(count=2, operator="moov")
    cycle_id = str(flow.cycle().json()["id"])

    def progress() -> dict[str, Any]:
        answer = flow.api.get(f"/v1/cycles/{cycle_id}/progress", headers=flow.auth("auditor"))
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result

    drafted = progress()
    assert (drafted["state"], drafted["payments"], drafted["open"], drafted["by_state"]) == (
        "draft",
        {"count": 0, "amount": 0},
        0,
        {},
    )
    for step, who in (("submission", "maker"), ("approval", "checker"), ("release", "maker")):
        assert flow.decide(cycle_id, step, who).status_code in (200, 202)
    released = progress()
    assert (released["state"], released["payments"], released["open"]) == (
        "released",
        {"count": 5, "amount": 150_000},
        5,
    )

    driven(lambda: progress()["state"] == "closed")

    closed = progress()
    assert closed["open"] == 0
    assert closed["payments"] == {"count": 5, "amount": 150_000}
    assert closed["by_state"] == {
        "FAILED": {"count": 2, "amount": 60_000},
        "SUCCEEDED": {"count": 3, "amount": 90_000},
    }
    missing = flow.api.get(f"/v1/cycles/{uuid.uuid4()}/progress", headers=flow.auth("auditor"))
    assert (missing.status_code, missing.headers["content-type"]) == (404, "application/json")
    assert "no cycle" in missing.json()["error"]["message"]


@pytest.mark.parametrize("incident", ["server_errors", "garbage"])
def test_a_provider_answering_5xx_or_garbage_leaves_payments_in_doubt_then_settles_them_with_the_same_key(
    flow: Flow, seed: Seed, sim: httpx.Client, driven: Any, states: Any, db: Engine, incident: str
) -> None:
    sim.patch("/_admin/behaviour", json={"wave": {incident: {"rate": 1.0, "executed_share": 0.5}}})
    flow.scheme()
    seed(count=4, operator="other")
    cycle_id = flow.released()
    driven(lambda: states(cycle_id).get("UNKNOWN", 0) == 4)
    with db.connect() as conn:
        keys_before = set(conn.execute(text('SELECT provider_request_key FROM "payments".payment')).scalars())

    sim.patch("/_admin/behaviour", json={"wave": {incident: {"rate": 0.0}}})
    driven(_final(states, cycle_id, 4))

    with db.connect() as conn:
        assert (
            set(conn.execute(text('SELECT provider_request_key FROM "payments".payment')).scalars())
            == keys_before
        )
    assert states(cycle_id) == {"SUCCEEDED": 4}
    _paid_once(sim, _references(db, cycle_id))
    with db.connect() as conn:
        queries = conn.execute(
            text('SELECT max(queries) FROM "payments".payment WHERE cycle_id = :c'), {"c": cycle_id}
        ).scalar_one()
    assert queries == 0  # the status-query back-off starts over once a payment's state moves


def test_a_provider_that_is_down_leaves_payments_in_doubt_not_failed(
    flow: Flow, seed: Seed, sim: httpx.Client, driven: Any, states: Any, caplog: pytest.LogCaptureFixture
) -> None:
    sim.patch("/_admin/behaviour", json={"mtn": {"down": {"seconds": 60, "mode": "unavailable"}}})
    flow.scheme()
    seed(count=2, operator="moov")
    cycle_id = flow.released()

    with caplog.at_level("WARNING", logger="payments.dispatcher"):
        driven(lambda: states(cycle_id).get("UNKNOWN", 0) == 2)

    assert "FAILED" not in states(cycle_id)
    # Why they are in doubt is logged once for the chunk, with the provider's answer.
    (report,) = [r for r in caplog.records if r.getMessage().startswith("sends left in doubt")]
    assert (report.provider, report.in_doubt, report.sent) == ("mtn", 2, 2)  # type: ignore[attr-defined]
    (reason,) = report.reasons  # type: ignore[attr-defined]
    assert "(HTTP 503)" in reason
    sim.patch("/_admin/behaviour", json={"mtn": {"down": {"seconds": 0}}})
    driven(_final(states, cycle_id, 2))
    assert states(cycle_id) == {"SUCCEEDED": 2}


def test_batches_the_provider_never_received_are_sent_again_whole_when_a_pass_cannot_take_them_all(
    flow: Flow, seed: Seed, sim: httpx.Client, driven: Any, states: Any, db: Engine
) -> None:
    # 250 payments in batches of 100 (three batches) against query passes of at most 200 payments.
    sim.patch("/_admin/behaviour", json={"gsma": {"down": {"seconds": 60, "mode": "unavailable"}}})
    flow.scheme()
    seed(count=250, operator="orange")
    cycle_id = flow.released()
    driven(lambda: states(cycle_id).get("UNKNOWN", 0) == 250)
    with db.connect() as conn:
        keys_before = conn.execute(
            text('SELECT count(DISTINCT batch_key) FROM "payments".payment WHERE cycle_id = :c'),
            {"c": cycle_id},
        ).scalar_one()

    sim.patch("/_admin/behaviour", json={"gsma": {"down": {"seconds": 0}}})
    driven(_final(states, cycle_id, 250), timeout=90)

    assert states(cycle_id) == {"SUCCEEDED": 250}
    _paid_once(sim, _references(db, cycle_id))
    with db.connect() as conn:
        keys_after = conn.execute(
            text('SELECT count(DISTINCT batch_key) FROM "payments".payment WHERE cycle_id = :c'),
            {"c": cycle_id},
        ).scalar_one()
    assert keys_before == keys_after == 3  # each batch went again under its own key, whole


def test_two_dispatcher_processes_share_a_release_and_pay_each_reference_once(
    flow: Flow,
    seed: Seed,
    sim: httpx.Client,
    states: Any,
    db: Engine,
    dispatcher: Dispatcher,
    second_dispatcher: Dispatcher,
) -> None:
    """What the stack does with `dispatchers=2`: both claim from the same tables (`SKIP LOCKED`), each
    settles what it sent and what the callbacks say, and nobody is paid twice — batches and one by one."""
    sim.patch("/_admin/behaviour", json={"all": {"duplicate_callbacks": 0.2}})
    flow.scheme()
    for operator in ("orange", "moov", "other"):
        seed(count=300, operator=operator)
    stop = threading.Event()
    workers = [
        threading.Thread(target=one.run, args=(stop,), daemon=True) for one in (dispatcher, second_dispatcher)
    ]
    for worker in workers:
        worker.start()
    try:
        cycle_id = flow.released()
        deadline = time.monotonic() + 120
        while flow.cycle_view(cycle_id)["state"] != "closed":
            assert time.monotonic() < deadline, states(cycle_id)
            time.sleep(0.2)
    finally:
        stop.set()
        for worker in workers:
            worker.join(90)

    assert states(cycle_id) == {"SUCCEEDED": 900}
    references = _references(db, cycle_id)
    _paid_once(sim, references)
    paid = sum(
        sim.get("/_admin/ledger", params={"dialect": d}).json()["count"] for d in ("gsma", "mtn", "wave")
    )
    assert paid == 900
    with db.connect() as conn:
        closed_events = conn.execute(
            text('SELECT count(*) FROM "payments".outbox WHERE type = :t AND key = :c'),
            {"t": "cycle.closed", "c": cycle_id},
        ).scalar_one()
    assert closed_events == 1


def test_payments_released_below_where_sending_has_got_to_are_sent_too(
    flow: Flow, seed: Seed, sim: httpx.Client, states: Any, db: Engine, dispatcher: Dispatcher, driven: Any
) -> None:
    """Sending resumes after the last id it claimed (ids are random): a cycle released meanwhile, whose ids
    fall below that mark, is still sent — the mark is dropped as soon as a claim comes back short."""
    flow.scheme()
    seed(count=450, operator="moov")
    first = flow.released(period="2026-Q1")
    assert dispatcher.send_chunk(dispatcher.gateways["mtn"]) == 200  # a full chunk: the mark is set
    second = flow.released(period="2026-Q2")
    with db.connect() as conn:
        below = conn.execute(
            text(
                'SELECT count(*) FROM "payments".payment WHERE cycle_id = :second AND id < '
                "(SELECT id FROM \"payments\".payment WHERE cycle_id = :first AND state <> 'APPROVED' "
                "ORDER BY id DESC LIMIT 1)"
            ),
            {"first": first, "second": second},
        ).scalar_one()
    assert below > 0  # the second cycle has payments under the mark

    driven(lambda: all(_final(states, cycle, 450)() for cycle in (first, second)), timeout=120)

    assert states(first) == states(second) == {"SUCCEEDED": 450}
    _paid_once(sim, _references(db, first) + _references(db, second))


def test_sending_tries_no_claim_until_a_cycle_is_released(
    flow: Flow, seed: Seed, db: Engine, dispatcher: Dispatcher
) -> None:
    """A release writes its payments in one transaction; until it commits they sit uncommitted in the index a
    claim walks, so a claim could only step over them. No claim is tried while no cycle is released."""
    flow.scheme()
    seed(count=5, operator="moov")
    cycle_id = str(flow.cycle().json()["id"])
    assert flow.decide(cycle_id, "submission", "maker").status_code == 200
    assert flow.decide(cycle_id, "approval", "checker").status_code == 200
    statements: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db, "before_cursor_execute", record)
    try:
        assert dispatcher.send_chunk(dispatcher.gateways["mtn"]) == 0
    finally:
        event.remove(db, "before_cursor_execute", record)
    assert statements  # the dispatcher did ask the database something
    assert not any("'SUBMITTING'" in statement for statement in statements)

    assert flow.decide(cycle_id, "release", "maker").status_code == 202
    assert dispatcher.send_chunk(dispatcher.gateways["mtn"]) == 5


def test_an_idle_dispatcher_waits_for_a_release_without_asking_the_database_for_work(
    flow: Flow, seed: Seed, states: Any, db: Engine, dispatcher: Dispatcher
) -> None:
    """While no cycle is released there is nothing to send or settle: the sending and querying threads ask
    the database nothing, the callback thread looks at its inbox about once a second. A release wakes them
    within a fraction of a second, and the running dispatcher pays it."""
    flow.scheme()
    seed(count=5, operator="moov")
    cycle_id = str(flow.cycle().json()["id"])
    assert flow.decide(cycle_id, "submission", "maker").status_code == 200
    assert flow.decide(cycle_id, "approval", "checker").status_code == 200
    by_thread: list[tuple[str, str]] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        by_thread.append((threading.current_thread().name, statement))

    def provider_loops() -> list[str]:
        return [name for name, _ in by_thread if name.startswith(("send", "query"))]

    stop = threading.Event()
    worker = threading.Thread(target=dispatcher.run, args=(stop,), daemon=True)
    event.listen(db, "before_cursor_execute", record)
    try:
        worker.start()
        time.sleep(2.0)
        assert not provider_loops()
        inbox_looks = [s for name, s in by_thread if name == "dispatch-callbacks" and "raw_callback" in s]
        assert 1 <= len(inbox_looks) <= 4  # once a second (every 0.1 s while a cycle is released)
        assert dispatcher.released.is_set() is False

        assert flow.decide(cycle_id, "release", "maker").status_code == 202
        _wait(lambda: states(cycle_id) == {"SUCCEEDED": 5}, "the running dispatcher pays the release")
        assert provider_loops()
    finally:
        stop.set()
        worker.join(30)
        event.remove(db, "before_cursor_execute", record)


def _wait(until: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _batch_facts(db: Engine, cycle_id: str) -> tuple[int, int]:
    """Batches queued as complete, and items of the cycle marked for a status query."""
    with db.connect() as conn:
        due = conn.execute(text('SELECT count(*) FROM "payments".batch_due')).scalar_one()
        marked = conn.execute(
            text('SELECT count(*) FROM "payments".payment WHERE cycle_id = :c AND needs_query'),
            {"c": cycle_id},
        ).scalar_one()
    return int(due), int(marked)


def _inbox_has_batches(db: Engine, count: int) -> bool:
    with db.connect() as conn:
        return (
            int(conn.execute(text('SELECT count(*) FROM "payments".raw_callback WHERE batch')).scalar_one())
            >= count
        )


def test_a_complete_batch_is_settled_from_its_results_or_its_items_go_to_status_queries(
    flow: Flow, seed: Seed, sim: httpx.Client, states: Any, db: Engine, dispatcher: Dispatcher, driven: Any
) -> None:
    """The provider's completion callback queues the batch (no item is written); reading its results settles
    every item. When the results cannot be read, the items are marked for status queries instead, and are
    settled once the provider answers again — paid once each."""
    flow.scheme()
    seed(count=100, operator="orange")  # one batch of 100 per cycle
    gsma = dispatcher.gateways["gsma"]

    first = flow.released(period="2026-Q1")
    assert dispatcher.send_chunk(gsma) == 100
    _wait(lambda: _inbox_has_batches(db, 1), "the completion callback")
    dispatcher.callback_step()
    assert _batch_facts(db, first) == (1, 0)  # queued whole, no item touched
    dispatcher.query_chunk(gsma)
    assert states(first) == {"SUCCEEDED": 100}
    assert _batch_facts(db, first) == (0, 0)

    second = flow.released(period="2026-Q2")
    assert dispatcher.send_chunk(gsma) == 100
    _wait(lambda: _inbox_has_batches(db, 2), "the second completion callback")
    dispatcher.callback_step()
    assert _batch_facts(db, second) == (1, 0)
    sim.patch("/_admin/behaviour", json={"gsma": {"down": {"seconds": 60, "mode": "unavailable"}}})
    dispatcher.query_chunk(gsma)
    assert _batch_facts(db, second) == (0, 100)  # results unreadable: every item to a status query
    assert states(second) == {"SUBMITTED": 100}

    sim.patch("/_admin/behaviour", json={"gsma": {"down": {"seconds": 0}}})
    driven(_final(states, second, 100), timeout=60)
    assert states(second) == {"SUCCEEDED": 100}
    _paid_once(sim, _references(db, first) + _references(db, second))


def _query_facts(db: Engine, cycle_id: str) -> tuple[int, int]:
    """Payments of the cycle queued for a status query, and those flagged for one."""
    with db.connect() as conn:
        queued, flagged = conn.execute(
            text(
                'SELECT count(q.payment_id), count(*) FILTER (WHERE p.needs_query) FROM "payments".payment p '
                'LEFT JOIN "payments".query_due q ON q.payment_id = p.id WHERE p.cycle_id = :c'
            ),
            {"c": cycle_id},
        ).one()
    return int(queued), int(flagged)


def test_an_unsigned_callback_queues_its_payment_for_one_status_query(
    flow: Flow, seed: Seed, sim: httpx.Client, states: Any, db: Engine, dispatcher: Dispatcher, driven: Any
) -> None:
    """MTN's final callbacks queue their payments (no payment row is written for them); the query thread
    takes them off the queue and settles them. When the provider cannot answer, the payments taken are
    flagged for status queries with back-off instead, and settled once it answers again — paid once each."""
    flow.scheme()
    seed(count=20, operator="moov")
    mtn = dispatcher.gateways["mtn"]

    first = flow.released(period="2026-Q1")
    assert dispatcher.send_chunk(mtn) == 20
    _wait(lambda: _inbox_count(db) >= 20, "the callbacks")
    dispatcher.callback_step()
    assert _query_facts(db, first) == (20, 0)
    assert states(first) == {"SUBMITTED": 20}
    with db.begin() as conn:  # no news for an hour: they would be "quiet", were they not queued
        conn.execute(
            text(
                "UPDATE \"payments\".payment SET updated_at = now() - interval '1 hour' WHERE cycle_id = :c"
            ),
            {"c": first},
        )
    with dispatcher.unit_of_work() as uow:
        assert uow.payments.flag_quiet(older_than_seconds=60) == 0  # queued ones are not "quiet"
        uow.commit()
    with dispatcher.unit_of_work() as uow:  # taken in the order queued, each take after the last position
        taken, up_to = uow.payments.take_due_queries("mtn", limit=5)
        rest, last = uow.payments.take_due_queries("mtn", limit=100, after=up_to)
        assert (len(taken), len(rest)) == (5, 15)
        assert up_to is not None
        assert last is not None
        assert last > up_to
        assert uow.payments.take_due_queries("mtn", limit=100) == ([], None)
        # (rolled back: the queue is as it was)
    assert dispatcher.query_chunk(mtn) == 20
    assert states(first) == {"SUCCEEDED": 20}
    assert _query_facts(db, first) == (0, 0)

    second = flow.released(period="2026-Q2")
    assert dispatcher.send_chunk(mtn) == 20
    _wait(lambda: _inbox_count(db) >= 40, "the second callbacks")
    dispatcher.callback_step()
    assert _query_facts(db, second) == (20, 0)
    sim.patch("/_admin/behaviour", json={"mtn": {"down": {"seconds": 60, "mode": "unavailable"}}})
    assert dispatcher.query_chunk(mtn) == 20
    assert _query_facts(db, second) == (0, 20)  # no answer: flagged, to be asked again after a back-off
    assert states(second) == {"SUBMITTED": 20}

    sim.patch("/_admin/behaviour", json={"mtn": {"down": {"seconds": 0}}})
    driven(_final(states, second, 20), timeout=60)
    assert states(second) == {"SUCCEEDED": 20}
    _paid_once(sim, _references(db, first) + _references(db, second))


def _inbox_count(db: Engine) -> int:
    with db.connect() as conn:
        return int(conn.execute(text('SELECT count(*) FROM "payments".raw_callback')).scalar_one())
