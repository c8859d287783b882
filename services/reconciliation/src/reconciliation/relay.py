"""Publishes the reconciliation outbox (`python -m reconciliation.relay`)."""

from __future__ import annotations

from reconciliation.service import RECONCILIATION
from shared.logs import configure_logging
from shared.service import run_relay
from shared.settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging("reconciliation-relay", settings.log_level)
    run_relay(RECONCILIATION, settings)


if __name__ == "__main__":
    main()
