"""A consumer process for the kill -9 test: applies audit events as countable effects, slowly."""

from __future__ import annotations

import sys
import threading
import time

from bus import group_loop, record_effect

from shared.db import build_engine
from shared.events import Envelope
from shared.settings import Settings
from shared.unit_of_work import UnitOfWork


def slow_effect(uow: UnitOfWork, event: Envelope) -> None:
    record_effect(uow, event)
    time.sleep(0.002)


def main() -> None:
    database_url, bootstrap, prefix, group = sys.argv[1:5]
    settings = Settings(database_url=database_url, kafka_bootstrap_servers=bootstrap, topic_prefix=prefix)
    engine = build_engine(database_url, pool_size=2)
    loop = group_loop(engine, settings, group=group, handlers={"audit.recorded": slow_effect})
    loop.run(threading.Event())


if __name__ == "__main__":
    main()
