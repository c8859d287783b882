"""Publishes the enrolment outbox (`python -m enrolment.relay`)."""

from __future__ import annotations

from enrolment.service import ENROLMENT
from shared.logs import configure_logging
from shared.service import run_relay
from shared.settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging("enrolment-relay", settings.log_level)
    run_relay(ENROLMENT, settings)


if __name__ == "__main__":
    main()
