"""The dispatcher (`python -m payments.dispatcher`): sends released payments to providers and settles those in doubt.

Per provider, `provider_loops` sending threads repeat (so that one chunk is prepared and recorded while
another is with the provider): claim a chunk (`FOR UPDATE SKIP LOCKED`, moved to SUBMITTING and
`payments.instructed` published, committed), call the provider with no transaction open (a GSMA batch, or
one request per payment with bounded concurrency and a rate limit, made on the event loop of `CallLoop`),
then record the answers in one transaction. As many querying threads per provider settle payments in doubt
or awaiting confirmation by authenticated status queries, alongside the sending; one still unknown to the
provider is sent again with the same key, never a new one. The main thread puts payments left SUBMITTING by a dead dispatcher in
doubt, asks about quiet ones, expires vouchers past their expiry, and closes finished cycles.

Payments wait to be sent or settled only in released cycles. The main thread looks four times a second
whether one is open; while none is, the sending and querying threads ask the database nothing, and the
callback thread looks at its inbox once a second instead of ten times.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError

from payments.call_loop import CallLoop
from payments.db.unit_of_work import PaymentsUnitOfWork
from payments.domain.payments import PaymentState
from payments.gateways import Gateway, build_gateways
from payments.providers.events import Instruction, ProviderEvent, SendResult
from payments.providers.transport import DirectHttp, KeepAliveTransport
from payments.service import unit_of_work_factory
from payments.settings import PaymentsSettings
from payments.use_cases.expire_vouchers import expire_vouchers
from payments.use_cases.instruct import instruction_of, publish_instructed
from payments.use_cases.process_pending_callbacks import process_pending_callbacks
from payments.use_cases.record_payment_news import SUBMIT, News, record_payment_news
from shared.db import build_engine
from shared.events.contracts import (
    CycleClosed,
    PaymentOutcome,
    PaymentsInDoubt,
)
from shared.runtime import start_process
from shared.service import stop_on_signals
from shared.settings import Settings

log = logging.getLogger(__name__)

EVENT_BATCH = 1000
#: Batches settled per pass of the batch-querying thread.
BATCHES_PER_QUERY = 4
#: Vouchers expired per housekeeping pass (the rest wait for the next pass, a second later).
VOUCHER_EXPIRY_BATCH = 5000
#: How often takes from the status-query queue start again from its beginning (see `_queue_mark`).
QUEUE_REWIND_SECONDS = 5.0
#: How many times within `stale_after_seconds` the stale and quiet sweeps run (at 200,000 payments each
#: was a scan of 40–45 ms, every second).
SWEEPS_PER_STALE_AGE = 6
#: How often the main thread looks whether a cycle is released, and how often it does the housekeeping.
#: An idle stack of two dispatchers used 0.6 of a core (a third of this machine) while every loop asked
#: the database every 0.1–0.2 s whether there was work, most of it the dispatchers' and PostgreSQL's.
RELEASE_WATCH_SECONDS = 0.25
HOUSEKEEPING_SECONDS = 1.0
#: How long the callback thread waits between looks at an empty inbox, with and without a released cycle
#: (callbacks for a closed cycle are late ones and reversals: a second's wait costs nothing).
CALLBACK_WAIT_SECONDS = 0.1
CALLBACK_WAIT_IDLE_SECONDS = 1.0
#: How long a provider loop that found nothing to do waits before it looks again. A sending loop waits twice
#: as long after each empty look, up to `SEND_REST_LONGEST_SECONDS`: once a provider's payments are all
#: claimed, nothing is left to send until another release, and each empty claim walks the index entries of
#: every payment already claimed (until they are vacuumed). Asking every 0.2 s, the twelve sending loops of
#: two dispatchers made 5,222 claims in the 200,000-household full cycle, 2.4 ms each (pg_stat_statements),
#: nearly all of them empty. A release while another cycle is still open is picked up within this longest rest.
IDLE_REST_SECONDS = 0.2
SEND_REST_LONGEST_SECONDS = 2.0


class Rest:
    """How long an idle loop waits before it looks again: from `shortest`, doubled after each empty look up
    to `longest`, and short again as soon as a look finds work."""

    def __init__(self, shortest: float, longest: float) -> None:
        self.shortest = shortest
        self.longest = max(longest, shortest)
        self._next = shortest

    def after(self, busy: int) -> float:
        """The wait after a look that found `busy` items of work: none after work, else the current rest."""
        if busy:
            self._next = self.shortest
            return 0.0
        wait = self._next
        self._next = min(self._next * 2, self.longest)
        return wait

    def reset(self) -> None:
        self._next = self.shortest


class Dispatcher:
    """Everything the dispatcher does, one step at a time (`step`), or in threads until stopped (`run`)."""

    def __init__(
        self,
        unit_of_work: Callable[[], PaymentsUnitOfWork],
        gateways: dict[str, Gateway],
        settings: PaymentsSettings,
    ) -> None:
        self.unit_of_work = unit_of_work
        self.gateways = gateways
        self.settings = settings
        self.callback_base = settings.callback_url.rstrip("/")
        #: Requests one per payment (sends and status queries), at most `concurrency` of each kind in flight
        #: per provider, on one event loop.
        self._calls = CallLoop(user_agent="filet-payments-dispatcher")
        #: Per provider, the highest payment id claimed for sending (see `claim_to_send`).
        self._sent_up_to: dict[str, UUID] = {}
        self._marks = threading.Lock()
        #: Per provider, the last position taken from the status-query queue, and when takes last started
        #: from its beginning (see `_queue_mark`).
        self._queried_up_to: dict[str, int] = {}
        self._queue_rewound: dict[str, float] = {}
        #: Set while a released cycle is open (see `watch_releases`): the provider loops work only then.
        self.released = threading.Event()

    def close(self) -> None:
        self._calls.close()

    # --- the loop ----------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        workers = [
            threading.Thread(
                target=self._provider_loop,
                args=(work, gateway, stop, Rest(IDLE_REST_SECONDS, longest)),
                name=f"{kind}-{name}",
                daemon=True,
            )
            for name, gateway in self.gateways.items()
            for n in range(self.settings.provider_loops)
            for kind, work, longest in (
                (f"send{n}", self.send_chunk, SEND_REST_LONGEST_SECONDS),
                # One querying thread settles batches (whole ones), the others payments sent one by one.
                # Their work comes due all through a cycle (callbacks, backoffs): they keep looking often.
                (f"query{n}", partial(self.query_chunk, batches=n == 0), IDLE_REST_SECONDS),
            )
        ]
        workers.append(
            threading.Thread(target=self._callback_loop, args=(stop,), name="dispatch-callbacks", daemon=True)
        )
        for worker in workers:
            worker.start()
        swept = kept = float("-inf")
        while not stop.is_set():
            self.watch_releases()
            if time.monotonic() - kept >= HOUSEKEEPING_SECONDS:
                # Finished cycles are closed within a second; the sweeps for payments stale or quiet for
                # `stale_after_seconds` (each a scan of the open payments) run a few times within that age.
                sweep = time.monotonic() - swept >= self.settings.stale_after_seconds / SWEEPS_PER_STALE_AGE
                try:
                    self.housekeeping(sweep=sweep)
                    if sweep:
                        swept = time.monotonic()
                except Exception:
                    log.exception("housekeeping failed; retrying")
                kept = time.monotonic()
            stop.wait(RELEASE_WATCH_SECONDS)
        self.released.set()  # no loop stays waiting for a release
        for worker in workers:
            worker.join(timeout=60)
        self.close()

    def watch_releases(self) -> None:
        """Set `released` while a released cycle is open, clear it otherwise. When the database cannot say,
        `released` is set: the loops then meet the trouble and report it themselves."""
        try:
            with self.unit_of_work() as uow:
                released = uow.cycles.any_released()
        except Exception:
            log.exception("could not see whether a cycle is released; working as if one were")
            released = True
        if released:
            self.released.set()
        else:
            self.released.clear()

    def _provider_loop(
        self, work: Callable[[Gateway], int], gateway: Gateway, stop: threading.Event, rest: Rest
    ) -> None:
        """Sending and settling run in loops of their own, so status queries never wait behind a release.
        While no cycle is released they wait for one, asking the database nothing."""
        while not stop.is_set():
            if not self.released.is_set():
                rest.reset()
                if not self.released.wait(RELEASE_WATCH_SECONDS * 4):
                    continue
            try:
                busy = work(gateway)
            except Exception:
                log.exception("dispatching failed; retrying", extra={"provider": gateway.name})
                busy = 0
            wait = rest.after(busy)
            if wait:
                stop.wait(wait)

    def _callback_loop(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                busy = self.callback_step()
            except Exception:
                log.exception("processing callbacks failed; retrying")
                busy = 0
            if not busy:
                released = self.released.is_set()
                stop.wait(CALLBACK_WAIT_SECONDS if released else CALLBACK_WAIT_IDLE_SECONDS)

    def step(self) -> int:
        """One pass over the callback inbox, every provider and the housekeeping; the work done (0 when idle)."""
        done = self.callback_step()
        done += self.housekeeping()
        for gateway in self.gateways.values():
            done += self.provider_step(gateway)
        return done

    def provider_step(self, gateway: Gateway) -> int:
        return self.send_chunk(gateway) + self.query_chunk(gateway)

    # --- callbacks ---------------------------------------------------------------------------------------

    def callback_step(self) -> int:
        """Apply one batch of pending callbacks; if it fails, go one by one and settle the culprit as `error`.

        Database trouble, or a race with another processor over an event (the unique index on applied event
        keys), is raised instead: the next pass retries, and then sees the other's work as a duplicate.
        """
        try:
            return self._process_callbacks(self.settings.callback_batch_size)
        except (OperationalError, InterfaceError):
            raise
        except Exception:
            log.exception("a batch of callbacks failed; isolating the culprit")
        done = 0
        for _ in range(self.settings.callback_batch_size):
            try:
                processed = self._process_callbacks(1)
            except (OperationalError, InterfaceError, IntegrityError):
                raise
            except Exception as error:
                processed = self._settle_first_pending_as_error(f"{type(error).__name__}: {error}")
            if not processed:
                break
            done += processed
        return done

    def _process_callbacks(self, limit: int) -> int:
        with self.unit_of_work() as uow:
            done = process_pending_callbacks(uow, limit=limit, wave_secrets=self.settings.secrets())
            uow.commit()
        return done

    def _settle_first_pending_as_error(self, detail: str) -> int:
        with self.unit_of_work() as uow:
            rows = uow.callbacks.claim_pending(1)
            for row in rows:
                uow.callbacks.settle(row["id"], outcome="error", detail=detail)
            uow.commit()
        return len(rows)

    # --- housekeeping ------------------------------------------------------------------------------------

    def housekeeping(self, *, sweep: bool = True) -> int:
        """Close finished cycles and expire vouchers; with `sweep`, also put payments left SUBMITTING in doubt
        and flag quiet ones for a status query."""
        with self.unit_of_work() as uow:
            stale = (
                uow.payments.put_stale_in_doubt(older_than_seconds=self.settings.stale_after_seconds)
                if sweep
                else []
            )
            by_cycle: dict[UUID, list[PaymentOutcome]] = defaultdict(list)
            for row in stale:
                by_cycle[row["cycle_id"]].append(
                    PaymentOutcome(
                        payment_id=row["id"],
                        instruction_id=row["reference"],
                        state=PaymentState.UNKNOWN.value,
                        provider=row["provider"],
                        failure_code="TIMEOUT",
                        at=_now(),
                    )
                )
            for cycle_id, items in by_cycle.items():
                for start in range(0, len(items), EVENT_BATCH):
                    uow.publish(
                        PaymentsInDoubt(cycle_id=cycle_id, items=items[start : start + EVENT_BATCH]),
                        subject=str(cycle_id),
                    )
            quiet = (
                uow.payments.flag_quiet(older_than_seconds=self.settings.stale_after_seconds) if sweep else 0
            )
            expired = expire_vouchers(uow, limit=VOUCHER_EXPIRY_BATCH)
            closed = self._close_finished_cycles(uow)
            uow.commit()
        return len(stale) + quiet + expired + closed

    def _close_finished_cycles(self, uow: PaymentsUnitOfWork) -> int:
        finished = uow.cycles.released_unfinished()
        for cycle_id in finished:
            counts, amounts = uow.payments.cycle_figures(cycle_id)
            uow.cycles.update(cycle_id, state="closed", closed_at=_now())
            uow.publish(CycleClosed(cycle_id=cycle_id, counts=counts, amounts=amounts), subject=str(cycle_id))
        return len(finished)

    # --- sending -----------------------------------------------------------------------------------------

    def send_chunk(self, gateway: Gateway) -> int:
        limit = self.settings.batch_size if gateway.batch else self.settings.chunk_size
        batch_key = uuid4() if gateway.batch else None
        after = self._sent_up_to.get(gateway.name)
        with self.unit_of_work() as uow:
            if not uow.cycles.any_released():
                # Nothing waits to be sent, but a release may be being written: its payments are already in
                # the index a claim walks, uncommitted, and each claim would step over them all. Claiming
                # every 0.2 s per loop and provider, two dispatchers made a 200,000-payment release take
                # 96 s in the full-cycle benchmark (20 s with no dispatcher running).
                return 0
            rows = uow.payments.claim_to_send(gateway.name, limit=limit, batch_key=batch_key, after=after)
            if len(rows) < limit and after is not None:
                # Past the end: the rest of the chunk from the start (payments released meanwhile, below the mark).
                rows += uow.payments.claim_to_send(gateway.name, limit=limit - len(rows), batch_key=batch_key)
            publish_instructed(uow, rows)
            uow.commit()
        with self._marks:
            # Resume after the highest id claimed; a short claim means the end: next time, from the start.
            mark = self._sent_up_to.get(gateway.name)
            if len(rows) < limit:
                self._sent_up_to.pop(gateway.name, None)
            elif mark is None or max(row["id"] for row in rows) > mark:
                self._sent_up_to[gateway.name] = max(row["id"] for row in rows)
        if rows:
            self._send(gateway, rows, batch_key)
        return len(rows)

    def _send(self, gateway: Gateway, rows: Sequence[dict[str, Any]], batch_key: UUID | None) -> None:
        """Call the provider (no transaction open) and record the answers in one transaction."""
        news: dict[UUID, list[News]] = {}
        asked = time.monotonic()
        if gateway.batch and batch_key is not None:
            callback = f"{self.callback_base}/v1/callbacks/{gateway.name}/batches/{batch_key}"
            result = gateway.send_batch(
                [self._instruction(gateway, row) for row in rows], batch_key=batch_key, callback_url=callback
            )
            batch_ref = result.provider_tx_ref if result.status is PaymentState.SUBMITTED else None
            answer = SendResult(
                result.status, result.http_status, result.failure_code, result.raw_code, result.raw_message
            )
            news = {row["id"]: [News("send", send=answer, batch_ref=batch_ref)] for row in rows}
        else:
            answers = self._calls.fan_out(
                gateway, "send", lambda row: gateway.send_exchange(self._instruction(gateway, row)), rows
            )
            news = {row["id"]: [News("send", send=answer)] for row, answer in zip(rows, answers, strict=True)}
        _report_in_doubt(gateway.name, news, batch_key, time.monotonic() - asked)
        with self.unit_of_work() as uow:
            record_payment_news(uow, news, source=f"dispatcher:{gateway.name}")
            uow.commit()

    # --- settling ----------------------------------------------------------------------------------------

    def query_chunk(self, gateway: Gateway, *, batches: bool = True) -> int:
        """Settle payments in doubt or awaiting confirmation: those sent one by one, and whole batches."""
        with self.unit_of_work() as uow:
            rows = uow.payments.claim_to_query(
                gateway.name, limit=self.settings.chunk_size, backoff_seconds=1.0
            )
            # Payments whose unsigned callback queued them for a query (their rows were not flagged).
            taken, up_to = uow.payments.take_due_queries(
                gateway.name, limit=self.settings.chunk_size, after=self._queue_mark(gateway.name)
            )
            claimed = {row["id"] for row in rows}
            queued = [row for row in taken if row["id"] not in claimed]
            rows += queued
            due: set[UUID] = set()
            if batches and gateway.batch:
                rows += uow.payments.claim_batches_to_query(
                    gateway.name, batches=BATCHES_PER_QUERY, backoff_seconds=1.0
                )
                # Batches the provider said are complete: their items were never marked one by one.
                claimed = {row["id"] for row in rows}
                completed = uow.payments.take_due_batches(gateway.name, batches=BATCHES_PER_QUERY)
                rows += [row for row in completed if row["id"] not in claimed]
                due = {row["batch_key"] for row in completed}
            uow.commit()
        if up_to is not None:
            with self._marks:
                self._queried_up_to[gateway.name] = max(up_to, self._queried_up_to.get(gateway.name, up_to))
        if not rows:
            return 0
        batched = [row for row in rows if row["batch_key"] is not None]
        single = [row for row in rows if row["batch_key"] is None]
        news: dict[UUID, list[News]] = {}
        resend: list[dict[str, Any]] = []
        unanswered: list[UUID] = []  # taken off the query queue, still unsettled: flagged for later queries
        from_queue = {row["id"] for row in queued}
        if single:
            events = self._calls.fan_out(
                gateway, "query", lambda row: gateway.query_exchange(self._instruction(gateway, row)), single
            )
            for row, event in zip(single, events, strict=True):
                if event is not None and event.status is not PaymentState.UNKNOWN:
                    news[row["id"]] = [News("evidence", evidence=event)]
                elif row["state"] == PaymentState.UNKNOWN.value:
                    resend.append(row)
                elif row["id"] in from_queue:
                    unanswered.append(row["id"])
        by_batch: dict[UUID, list[dict[str, Any]]] = defaultdict(list)
        for row in batched:
            by_batch[row["batch_key"]].append(row)
        resend_batches: list[tuple[UUID, list[dict[str, Any]]]] = []
        unsettled: list[UUID] = []
        for batch_key, members in by_batch.items():
            outcome = self._settle_batch(gateway, batch_key, members, news)
            if outcome == "resend":
                resend_batches.append((batch_key, members))
            elif outcome != "settled" and batch_key in due:
                unsettled.append(batch_key)
        if news or unsettled or unanswered:
            with self.unit_of_work() as uow:
                if news:
                    record_payment_news(uow, news, source=f"query:{gateway.name}")
                # A complete batch whose results could not be read: its items go to status queries.
                uow.payments.mark_batches_for_query(unsettled)
                uow.payments.flag_for_query(unanswered)
                uow.commit()
        if resend:
            self._resend(gateway, resend, None)
        for batch_key, members in resend_batches:
            self._resend(gateway, members, batch_key)
        return len(rows)

    def _queue_mark(self, provider: str) -> int | None:
        """Where the next take from the query queue starts (see `take_due_queries`): after the last position
        taken, and from the start every few seconds, for entries committed out of order below the mark."""
        with self._marks:
            if time.monotonic() - self._queue_rewound.get(provider, float("-inf")) >= QUEUE_REWIND_SECONDS:
                self._queue_rewound[provider] = time.monotonic()
                self._queried_up_to.pop(provider, None)
            return self._queried_up_to.get(provider)

    def _settle_batch(
        self, gateway: Gateway, batch_key: UUID, members: list[dict[str, Any]], news: dict[UUID, list[News]]
    ) -> str:
        batch_ref = next((row["batch_ref"] for row in members if row["batch_ref"]), None)
        if batch_ref is None:
            lookup = gateway.batch_of(batch_key)
            if lookup.received is False and all(
                row["state"] == PaymentState.UNKNOWN.value for row in members
            ):
                return "resend"
            if lookup.batch_id is None:
                return "unknown"
            batch_ref = lookup.batch_id
            for row in members:
                news.setdefault(row["id"], []).append(News("found", batch_ref=batch_ref))
        results = gateway.batch_results(batch_ref)
        if results is None:
            return "unknown"
        by_reference: dict[str, ProviderEvent] = {
            event.instruction_id: event for event in results if event.instruction_id is not None
        }
        for row in members:
            event = by_reference.get(row["reference"])
            if event is not None:
                news.setdefault(row["id"], []).append(News("evidence", evidence=event, batch_ref=batch_ref))
            elif row["state"] == PaymentState.UNKNOWN.value:
                # The provider has the batch: the payment was received and is still being processed.
                news.setdefault(row["id"], []).append(
                    News("send", send=SendResult(PaymentState.SUBMITTED), batch_ref=batch_ref)
                )
        return "settled"

    def _resend(self, gateway: Gateway, rows: list[dict[str, Any]], batch_key: UUID | None) -> None:
        """In doubt and unknown to the provider: send again with the same key (UNKNOWN → SUBMITTING first)."""
        with self.unit_of_work() as uow:
            applied = record_payment_news(
                uow, {row["id"]: [SUBMIT] for row in rows}, source=f"dispatcher:{gateway.name}"
            )
            uow.commit()
        ready = [
            row
            for row in rows
            if applied.get(row["id"]) and applied[row["id"]].state is PaymentState.SUBMITTING
        ]
        if ready:
            self._send(gateway, ready, batch_key)

    # --- shapes ------------------------------------------------------------------------------------------

    def _instruction(self, gateway: Gateway, row: dict[str, Any]) -> Instruction:
        callback = None
        if gateway.name in {"gsma", "mtn"} and not gateway.batch:
            callback = f"{self.callback_base}/v1/callbacks/{gateway.name}/{row['provider_request_key']}"
        return instruction_of(row, callback_url=callback)


def _report_in_doubt(
    provider: str, news: dict[UUID, list[News]], batch_key: UUID | None, seconds: float
) -> None:
    """A send left in doubt is queried, not resent with a new key; it is logged with why (a timeout, a broken
    connection, an unreadable answer), once per chunk or batch, so that a provider's trouble shows."""
    reasons = Counter(
        _why(answer)
        for items in news.values()
        for item in items
        if (answer := item.send) is not None and answer.status is PaymentState.UNKNOWN
    )
    if reasons:
        log.warning(
            "sends left in doubt; they will be settled by status queries",
            extra={
                "provider": provider,
                "in_doubt": sum(reasons.values()),
                "sent": len(news),
                "batch_key": str(batch_key) if batch_key else None,
                "call_seconds": round(seconds, 1),
                "reasons": dict(reasons.most_common(3)),
            },
        )


def _why(answer: SendResult) -> str:
    code = answer.failure_code.value if answer.failure_code else "?"
    status = f" (HTTP {answer.http_status})" if answer.http_status is not None else ""
    return f"{code}{status}: {answer.raw_message or ''}"[:200]


def _now() -> datetime:
    return datetime.now(UTC)


def main() -> None:
    settings = Settings()
    payments = PaymentsSettings()
    start_process("payments-dispatcher", settings.log_level)
    http = DirectHttp(KeepAliveTransport(), user_agent="filet-payments-dispatcher")
    try:
        gateways = build_gateways(settings, payments, http)
        # A connection for every thread that opens transactions: sending and querying loops per provider,
        # the callback loop and the housekeeping (fewer made threads wait, and extra connections churn).
        engine = build_engine(
            settings.require_database_url(),
            pool_size=2 + 2 * payments.provider_loops * len(gateways),
            application_name="payments-dispatcher",
        )
        dispatcher = Dispatcher(unit_of_work_factory(engine, settings), gateways, payments)
        log.info("dispatcher started", extra={"providers": sorted(dispatcher.gateways)})
        dispatcher.run(stop_on_signals())
        engine.dispose()
    finally:
        http.close()


if __name__ == "__main__":
    main()
