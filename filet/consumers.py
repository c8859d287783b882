"""Each service's consumer as an `Inbox`, for commands that apply events outside the running loop."""

from __future__ import annotations

from sqlalchemy import Engine

from shared.consumer import Inbox
from shared.settings import Settings


def inbox_for(service: str, engine: Engine, settings: Settings) -> Inbox:
    from enrolment import consumer as enrolment_consumer
    from enrolment.service import ENROLMENT
    from payments import consumer as payments_consumer
    from payments.service import PAYMENTS
    from reconciliation import consumer as reconciliation_consumer
    from reconciliation.service import RECONCILIATION

    consumers = {
        "enrolment": (ENROLMENT, enrolment_consumer.HANDLERS),
        "payments": (PAYMENTS, payments_consumer.HANDLERS),
        "reconciliation": (RECONCILIATION, reconciliation_consumer.HANDLERS),
    }
    if service not in consumers:
        raise ValueError(f"{service} has no consumer")
    definition, handlers = consumers[service]
    return Inbox(
        name=f"{settings.topic_prefix}.{definition.name}",
        unit_of_work=definition.unit_of_work(engine, settings),
        handlers=handlers,
    )
