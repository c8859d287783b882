"""Settings of the payments processes: where providers and our own callback endpoints are (pydantic-settings)."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class PaymentsSettings(BaseSettings):
    """Provider URLs and credentials, callback base, and the dispatcher's pace. Built once per process.

    * `FILET_PAYMENTS_CALLBACK_URL` (else `FILET_PAYMENTS_URL`, set by the launcher): the base providers call
      back to, e.g. `https://pay.example.org`; callbacks go to `<base>/v1/callbacks/<provider>/…`.
    * `FILET_PAYMENTS_<PROVIDER>_URL`: a provider's base URL; unset means the simulator's dialect
      (`FILET_SIMULATOR_URL` + `/gsma`, `/mtn`, `/wave`).
    * Credentials: `FILET_PAYMENTS_GSMA_API_KEY`, `…_MTN_API_USER`, `…_MTN_API_KEY`, `…_MTN_SUBSCRIPTION_KEY`,
      `…_WAVE_API_KEY`, and `FILET_PAYMENTS_WAVE_WEBHOOK_SECRETS` (comma-separated: several during a rotation).
    """

    model_config = SettingsConfigDict(
        env_prefix="FILET_PAYMENTS_", extra="ignore", frozen=True, populate_by_name=True
    )

    callback_url: str = Field(
        default="http://127.0.0.1:8002",
        validation_alias=AliasChoices("FILET_PAYMENTS_CALLBACK_URL", "FILET_PAYMENTS_URL"),
    )
    gsma_url: str | None = None
    gsma_api_key: str = "filet-gsma-key"
    gsma_client_id: str = "filet"
    gsma_organisation_id: str = "PFS-MALI"
    gsma_debit_wallet: str = "MMAPI-FLOAT-0001"
    mtn_url: str | None = None
    mtn_api_user: str = "filet"
    mtn_api_key: str = "filet-mtn-key"
    mtn_subscription_key: str = "filet-subscription"
    mtn_target_environment: str = "sandbox"
    wave_url: str | None = None
    wave_api_key: str = "wave_ml_prod_filet"
    wave_webhook_secrets: str = "wave-simulator-secret"
    #: Dispatcher: payments claimed per chunk, items per GSMA batch, requests in flight per provider.
    #: A chunk sent one request per payment stays SUBMITTING until its last answer is recorded, and
    #: `stale_after_seconds` after the claim the sweep puts what is still SUBMITTING in doubt (it takes the
    #: sender for dead). In the 100,000-household full cycle (four senders, MTN one by one), 2,000 a chunk
    #: took 64 s from claim to answer at the 90th percentile, and the sweep had begun putting payments in
    #: doubt while they were being sent (each is then queried and sent again with the same key: nobody is
    #: paid twice, but every process does the work again). With 500: 12.5 s, none put in doubt.
    chunk_size: int = Field(default=500, ge=1)
    batch_size: int = Field(default=2000, ge=1)
    #: Requests in flight are held on one event loop (`payments.call_loop`), so the width costs little CPU:
    #: against the simulator answering at once (MTN, 30,000 payments) 16 in flight paid 349/s, 32 376/s,
    #: 128 408/s. What it bounds is what a provider sees, and a request left hanging until the client's
    #: timeout holds its slot that long: 64 keeps a provider that leaves 1 % hanging 30 s working at
    #: ~100 payments/s with half its slots free. One provider can have its own (`mtn_concurrency`, …).
    concurrency: int = Field(default=64, ge=1)
    #: Per provider: threads claiming and sending chunks, and as many settling by status queries (the
    #: sending threads share `concurrency` requests in flight; so do the querying ones).
    provider_loops: int = Field(default=2, ge=1)
    #: Requests per second per provider (0: no limit).
    rate_limit: float = Field(default=0.0, ge=0.0)
    #: One provider's own width and pace (`FILET_PAYMENTS_MTN_CONCURRENCY`, `…_WAVE_RATE_LIMIT`, …), for a
    #: provider whose contract or latency differs from the others; unset means `concurrency`/`rate_limit`.
    gsma_concurrency: int | None = Field(default=None, ge=1)
    mtn_concurrency: int | None = Field(default=None, ge=1)
    wave_concurrency: int | None = Field(default=None, ge=1)
    gsma_rate_limit: float | None = Field(default=None, ge=0.0)
    mtn_rate_limit: float | None = Field(default=None, ge=0.0)
    wave_rate_limit: float | None = Field(default=None, ge=0.0)
    #: A payment left SUBMITTING longer than this (a dispatcher that died mid-send) is put in doubt.
    stale_after_seconds: float = Field(default=60.0, gt=0.0)
    provider_timeout_seconds: float = Field(default=30.0, gt=0.0)
    #: Callback inbox: connections the API keeps for receiving; callbacks the dispatcher applies per pass.
    callback_connections: int = Field(default=4, ge=1)
    callback_batch_size: int = Field(default=2000, ge=1)
    #: Vouchers: days from issue to expiry.
    voucher_days: int = Field(default=90, ge=1)

    def concurrency_of(self, provider: str) -> int:
        """Requests in flight for `provider` (its own setting, else the common one)."""
        own: int | None = getattr(self, f"{provider}_concurrency", None)
        return self.concurrency if own is None else own

    def rate_limit_of(self, provider: str) -> float:
        """Requests per second for `provider` (its own setting, else the common one; 0: no limit)."""
        own: float | None = getattr(self, f"{provider}_rate_limit", None)
        return self.rate_limit if own is None else own

    def secrets(self) -> list[str]:
        return [secret.strip() for secret in self.wave_webhook_secrets.split(",") if secret.strip()]
