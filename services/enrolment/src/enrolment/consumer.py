"""The enrolment consumer: rules applied to payments' events (`python -m enrolment.consumer`)."""

from __future__ import annotations

from enrolment.db.unit_of_work import EnrolmentUnitOfWork
from enrolment.service import ENROLMENT
from enrolment.use_cases.end_enrolments import count_paid_cycle
from shared.consumer import Handler
from shared.events import Envelope, Topic
from shared.events.contracts import CycleReleased
from shared.runtime import start_process
from shared.service import run_consumer
from shared.settings import Settings


def when_cycle_released_count_paid_cycles_and_exit_finished_temporary_enrolments(
    uow: EnrolmentUnitOfWork, event: Envelope
) -> None:
    assert isinstance(event.data, CycleReleased)
    count_paid_cycle(
        uow,
        cycle_id=event.data.cycle_id,
        programme_code=event.data.programme_code,
        household_ids=event.data.household_ids,
        at=event.time,
    )


HANDLERS: dict[str, Handler] = {
    "cycle.released": when_cycle_released_count_paid_cycles_and_exit_finished_temporary_enrolments,
}
TOPICS = [Topic.CYCLES]


def main() -> None:
    settings = Settings()
    start_process("enrolment-consumer", settings.log_level)
    run_consumer(ENROLMENT, settings, handlers=HANDLERS, topics=TOPICS)


if __name__ == "__main__":
    main()
