"""Publishes the payments outbox (`python -m payments.relay`)."""

from __future__ import annotations

from payments.service import PAYMENTS
from shared.runtime import start_process
from shared.service import run_relay
from shared.settings import Settings


def main() -> None:
    settings = Settings()
    start_process("payments-relay", settings.log_level)
    run_relay(PAYMENTS, settings)


if __name__ == "__main__":
    main()
