"""Publishes the reconciliation outbox (`python -m reconciliation.relay`)."""

from __future__ import annotations

from reconciliation.service import RECONCILIATION
from shared.runtime import start_process
from shared.service import run_relay
from shared.settings import Settings


def main() -> None:
    settings = Settings()
    start_process("reconciliation-relay", settings.log_level)
    run_relay(RECONCILIATION, settings)


if __name__ == "__main__":
    main()
