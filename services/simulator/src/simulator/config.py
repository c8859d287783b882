"""Start-up configuration of the simulator: accounts, callback delivery, dialect settings and behaviour."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from simulator.behaviour import DIALECTS, Behaviour, Dialect, Knob, behaviour_from


class Account(Knob):
    """The provider-side float account a dialect pays from; its statements are what the simulator really did."""

    id: str = Field(min_length=1, max_length=34, pattern=r"^[A-Za-z0-9./-]+$")
    name: str
    owner: str = "PROGRAMME FILETS SOCIAUX PFS (SIMULE)"
    servicer: str
    opening_balance: int = 0
    funding: int = Field(default=100_000_000_000, ge=0)
    funding_reference: str = Field(default="FUNDING-0001", max_length=16)
    funder: str = "TRESOR PUBLIC DU MALI (SIMULE)"


def _default_accounts() -> dict[Dialect, Account]:
    return {
        "gsma": Account(
            id="MMAPI-FLOAT-0001", name="WALLET MMAPI COMPTE BULK", servicer="MMAPI (SIMULATEUR)"
        ),
        "mtn": Account(
            id="MTN-DISB-0001", name="MTN MOMO COMPTE DECAISSEMENT", servicer="MTN MOMO (SIMULATEUR)"
        ),
        "wave": Account(id="WAVE-BIZ-0001", name="WAVE COMPTE BUSINESS", servicer="WAVE MALI (SIMULATEUR)"),
        "orange": Account(
            id="70000001", name="ORANGE MONEY COMPTE BULK", servicer="ORANGE MONEY (SIMULATEUR)"
        ),
    }


class CallbackSettings(Knob):
    """Delivery of callbacks and webhooks: bounded concurrency, a timeout per attempt, retries with back-off."""

    concurrency: int = Field(default=32, ge=1, le=1024)
    timeout_seconds: float = Field(default=5.0, gt=0.0)
    max_attempts: int = Field(default=5, ge=1, le=100)
    retry_base_ms: int = Field(default=200, ge=0)


class MtnSettings(Knob):
    """MTN MoMo: optional API user and key (Basic auth on the token route); otherwise any credentials pass."""

    api_user: str | None = None
    api_key: str | None = None
    token_ttl_seconds: int = Field(default=3600, ge=1)
    callback_method: Literal["PUT", "POST", "mixed"] = "PUT"
    reason_as: Literal["object", "string"] = "object"


class WaveSettings(Knob):
    """Wave: where signed webhooks go, with which secret; `signature_separator` "." tests the blog variant."""

    webhook_url: str | None = None
    webhook_secret: str = "wave-simulator-secret"
    signature_separator: Literal["", "."] = ""
    api_key: str | None = None


class SimulatorConfig(Knob):
    """Everything the simulator needs at start-up. `behaviour` holds partial knobs merged over the defaults."""

    seed: int = 0
    accounts: dict[Dialect, Account] = Field(default_factory=_default_accounts)
    callbacks: CallbackSettings = CallbackSettings()
    mtn: MtnSettings = MtnSettings()
    wave: WaveSettings = WaveSettings()
    behaviour: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("accounts")
    @classmethod
    def _every_dialect_has_an_account(cls, accounts: dict[Dialect, Account]) -> dict[Dialect, Account]:
        defaults = _default_accounts()
        return {dialect: accounts.get(dialect, defaults[dialect]) for dialect in DIALECTS}

    @field_validator("behaviour")
    @classmethod
    def _behaviour_keys_are_dialects(cls, behaviour: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        unknown = set(behaviour) - {*DIALECTS, "all"}
        if unknown:
            raise ValueError(f"unknown dialects in behaviour: {sorted(unknown)}")
        for dialect in DIALECTS:
            behaviour_from(dialect, behaviour.get("all", {}), behaviour.get(dialect, {}))
        return behaviour

    def behaviours(self) -> dict[Dialect, Behaviour]:
        """The start-up behaviour of every dialect: defaults, then `all`, then the dialect's own knobs."""
        common = self.behaviour.get("all", {})
        return {
            dialect: behaviour_from(dialect, common, self.behaviour.get(dialect, {})) for dialect in DIALECTS
        }

    @classmethod
    def from_file(cls, path: Path) -> SimulatorConfig:
        return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
