"""The ways out to providers: one adapter client per configured provider, with a rate limit, built at start-up."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote
from uuid import UUID

import httpx

from payments.providers.events import Instruction, ProviderEvent, SendResult, json_object, text_of
from payments.providers.exchanges import Exchange
from payments.providers.gsma import GsmaMmapiClient
from payments.providers.mtn import MtnMomoClient
from payments.providers.transport import Http
from payments.providers.wave import WavePayoutClient
from payments.settings import PaymentsSettings
from shared.settings import Settings


class RateLimit:
    """At most `per_second` calls per second across threads (0: unlimited); callers wait their turn."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second if per_second > 0 else 0.0
        self._next = time.monotonic()
        self._lock = threading.Lock()

    def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)

    def reserve(self) -> float:
        """Take the next slot: the seconds to wait for it (0: go now). For callers that wait their own way."""
        if not self._interval:
            return 0.0
        with self._lock:
            now = time.monotonic()
            slot = max(self._next, now)
            self._next = slot + self._interval
        return slot - now


@dataclass(frozen=True)
class BatchLookup:
    """What a provider knows of a batch we sent under `batch_key`: its id, or that it never arrived."""

    batch_id: str | None
    received: bool | None


class Gateway:
    """One provider: exchanges to send or query one payment (run on the dispatcher's event loop); providers
    with a batch dialect also send and read batches (blocking, each waiting for its rate-limit slot)."""

    def __init__(
        self,
        name: str,
        client: GsmaMmapiClient | MtnMomoClient | WavePayoutClient,
        *,
        rate: RateLimit,
        concurrency: int,
        batch: bool = False,
        http: Http | None = None,
        base_url: str = "",
    ) -> None:
        self.name = name
        self.client = client
        self.rate = rate
        self.concurrency = concurrency
        self.batch = batch
        self._http = http
        self._base_url = base_url

    def send_exchange(self, instruction: Instruction) -> Exchange[SendResult]:
        """`send` as an exchange, for an event loop (whoever runs it takes a `rate` slot first)."""
        return self.client.send_exchange(instruction)

    def query_exchange(self, instruction: Instruction) -> Exchange[ProviderEvent | None]:
        """`query` as an exchange, for an event loop (whoever runs it takes a `rate` slot first)."""
        return self.client.query_exchange(instruction)

    def send_batch(
        self, instructions: Sequence[Instruction], *, batch_key: UUID, callback_url: str | None
    ) -> SendResult:
        assert isinstance(self.client, GsmaMmapiClient)
        self.rate.wait()
        return self.client.send_batch(
            instructions, batch_key=batch_key, title=f"filet batch {batch_key}", callback_url=callback_url
        )

    def batch_results(self, batch_id: str) -> list[ProviderEvent] | None:
        assert isinstance(self.client, GsmaMmapiClient)
        self.rate.wait()
        return self.client.batch_results(batch_id)

    def batch_of(self, batch_key: UUID) -> BatchLookup:
        """`GET /responses/{X-CorrelationID}`: the batch id, 'never received' (404), or unknown (no answer)."""
        assert self._http is not None
        self.rate.wait()
        try:
            response = self._http.get(
                f"{self._base_url}/responses/{quote(str(batch_key), safe='')}", timeout=30
            )
        except httpx.HTTPError:
            return BatchLookup(None, None)
        if response.status_code == 404:
            return BatchLookup(None, False)
        link = text_of(json_object(response.content) or {}, "link") or ""
        if response.status_code == 200 and "/batchtransactions/" in link:
            return BatchLookup(link.rsplit("/", 1)[-1], True)
        return BatchLookup(None, None)


def build_gateways(settings: Settings, payments: PaymentsSettings, http: Http) -> dict[str, Gateway]:
    simulator = settings.simulator_url.rstrip("/")
    timeout = httpx.Timeout(payments.provider_timeout_seconds, connect=5.0)
    gsma_url = payments.gsma_url or simulator + "/gsma"

    gsma = GsmaMmapiClient(
        http,
        base_url=gsma_url,
        api_key=payments.gsma_api_key,
        client_id=payments.gsma_client_id,
        organisation_id=payments.gsma_organisation_id,
        debit_wallet=payments.gsma_debit_wallet,
        provider="gsma",
        timeout=timeout,
    )
    mtn = MtnMomoClient(
        http,
        base_url=payments.mtn_url or simulator + "/mtn",
        api_user=payments.mtn_api_user,
        api_key=payments.mtn_api_key,
        subscription_key=payments.mtn_subscription_key,
        target_environment=payments.mtn_target_environment,
        provider="mtn",
        timeout=timeout,
    )
    wave = WavePayoutClient(
        http,
        base_url=payments.wave_url or simulator + "/wave",
        api_key=payments.wave_api_key,
        provider="wave",
        timeout=timeout,
    )
    return {
        "gsma": Gateway(
            "gsma",
            gsma,
            rate=RateLimit(payments.rate_limit_of("gsma")),
            concurrency=payments.concurrency_of("gsma"),
            batch=True,
            http=http,
            base_url=gsma_url.rstrip("/"),
        ),
        "mtn": Gateway(
            "mtn",
            mtn,
            rate=RateLimit(payments.rate_limit_of("mtn")),
            concurrency=payments.concurrency_of("mtn"),
        ),
        "wave": Gateway(
            "wave",
            wave,
            rate=RateLimit(payments.rate_limit_of("wave")),
            concurrency=payments.concurrency_of("wave"),
        ),
    }
