"""Publishes the enrolment outbox (`python -m enrolment.relay`)."""

from __future__ import annotations

from enrolment.service import ENROLMENT
from shared.runtime import start_process
from shared.service import run_relay
from shared.settings import Settings


def main() -> None:
    settings = Settings()
    start_process("enrolment-relay", settings.log_level)
    run_relay(ENROLMENT, settings)


if __name__ == "__main__":
    main()
