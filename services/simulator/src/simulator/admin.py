"""The admin desk under `/_admin`: behaviour at run time, reset, funding, the ledger and statement exports."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from simulator.behaviour import Dialect
from simulator.clock import utc_now
from simulator.ledger import PaymentStatus
from simulator.payloads import UnreadableBody, json_body, json_response
from simulator.simulation import Simulation
from simulator.statements.camt053 import camt053
from simulator.statements.mt940 import mt940
from simulator.statements.operator_csv import operator_report
from simulator.statements.period import StatementPeriod, accounts_named, day_or_today


class ResetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    seed: int | None = None
    keep_behaviour: bool = False


class FundingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dialect: Dialect
    amount: int = Field(gt=0, le=10**15)
    reference: str = Field(min_length=1, max_length=16)


class AdminDesk:
    """Thin routes over the simulation; every answer is JSON except the statements."""

    def __init__(self, simulation: Simulation) -> None:
        self._simulation = simulation

    def router(self) -> APIRouter:
        router = APIRouter(prefix="/_admin", tags=["admin"])
        router.add_api_route("/health", self.get_health, methods=["GET"])
        router.add_api_route("/config", self.get_config, methods=["GET"])
        router.add_api_route("/behaviour", self.get_behaviour, methods=["GET"])
        router.add_api_route("/behaviour", self.put_behaviour, methods=["PUT"])
        router.add_api_route("/behaviour", self.patch_behaviour, methods=["PATCH"])
        router.add_api_route("/reset", self.post_reset, methods=["POST"])
        router.add_api_route("/funding", self.post_funding, methods=["POST"])
        router.add_api_route("/ledger", self.get_ledger, methods=["GET"])
        router.add_api_route("/ledger/summary", self.get_summary, methods=["GET"])
        router.add_api_route("/callbacks", self.get_callbacks, methods=["GET"])
        router.add_api_route("/statements/camt053", self.get_camt053, methods=["GET"])
        router.add_api_route("/statements/mt940", self.get_mt940, methods=["GET"])
        router.add_api_route("/statements/operator-csv", self.get_operator_csv, methods=["GET"])
        return router

    async def get_health(self) -> Response:
        return json_response({"status": "ok", "seed": self._simulation.seed})

    async def get_config(self) -> Response:
        return json_response(self._simulation.config.model_dump(mode="json"))

    async def get_behaviour(self) -> Response:
        return self._behaviour_view()

    async def put_behaviour(self, request: Request) -> Response:
        """Each named dialect (or `all`) gets its defaults with the given knobs over them."""
        return await self._set_behaviour(request, merge=False)

    async def patch_behaviour(self, request: Request) -> Response:
        """Each named dialect (or `all`) keeps its current knobs, amended by the given ones."""
        return await self._set_behaviour(request, merge=True)

    async def post_reset(self, request: Request) -> Response:
        try:
            raw = await request.body()
            options = ResetIn.model_validate_json(raw) if raw.strip() else ResetIn()
        except ValidationError as error:
            return json_response({"detail": error.errors(include_url=False, include_context=False)}, 422)
        await self._simulation.reset(seed=options.seed, keep_behaviour=options.keep_behaviour)
        return json_response({"status": "reset", "seed": self._simulation.seed})

    async def post_funding(self, request: Request) -> Response:
        try:
            funding = FundingIn.model_validate_json(await request.body())
        except ValidationError as error:
            return json_response({"detail": error.errors(include_url=False, include_context=False)}, 422)
        ledger = self._simulation.ledger
        movement = ledger.fund(funding.dialect, funding.amount, funding.reference, utc_now())
        body = {"service_reference": movement.service_ref, "balance": ledger.balance(funding.dialect)}
        return json_response(body, 201)

    async def get_ledger(
        self,
        reference: str | None = None,
        provider_reference: str | None = None,
        dialect: Dialect | None = None,
        status: PaymentStatus | None = None,
        limit: int | None = Query(default=None, ge=0),
        offset: int = Query(default=0, ge=0),
    ) -> Response:
        """`reference` is ours (externalId, client_reference, requestingOrganisationTransactionReference…)."""
        view = self._simulation.ledger.view(
            reference=reference,
            provider_reference=provider_reference,
            dialect=dialect,
            status=status,
            limit=limit,
            offset=offset,
        )
        return json_response(view)

    async def get_summary(self) -> Response:
        summary = self._simulation.ledger.summary()
        summary["callbacks"] = self._simulation.dispatcher.stats()
        return json_response(summary)

    async def get_callbacks(self) -> Response:
        return json_response(self._simulation.dispatcher.stats())

    async def get_camt053(self, account: str | None = None, date: str | None = None) -> Response:
        try:
            periods = self._periods(account, date)
        except LookupError as error:
            return json_response({"detail": str(error)}, 404)
        except ValueError as error:
            return json_response({"detail": str(error)}, 422)
        return StreamingResponse(camt053(periods, utc_now()), media_type="application/xml")

    async def get_mt940(self, account: str | None = None, date: str | None = None) -> Response:
        try:
            periods = self._periods(account, date)
        except LookupError as error:
            return json_response({"detail": str(error)}, 404)
        except ValueError as error:
            return json_response({"detail": str(error)}, 422)
        return StreamingResponse((chunk.encode("ascii") for chunk in mt940(periods)), media_type="text/plain")

    async def get_operator_csv(self, account: str = "orange", date: str | None = None) -> Response:
        try:
            period = self._periods(account, date)[0]
        except LookupError as error:
            return json_response({"detail": str(error)}, 404)
        except ValueError as error:
            return json_response({"detail": str(error)}, 422)
        report = operator_report(period.account, period.start, period.end, period.opening, period.movements)
        return StreamingResponse(report, media_type="text/csv; charset=utf-8")

    def _periods(self, account: str | None, day: str | None) -> list[StatementPeriod]:
        ledger = self._simulation.ledger
        dialects = accounts_named(ledger, account)
        if not dialects:
            raise LookupError(f"no account {account!r}")
        on = day_or_today(day)
        return [StatementPeriod.of(ledger, dialect, on) for dialect in dialects]

    async def _set_behaviour(self, request: Request, *, merge: bool) -> Response:
        try:
            layers = await json_body(request)
            if not all(isinstance(layer, dict) for layer in layers.values()):
                raise UnreadableBody("each dialect's behaviour must be a JSON object")
            await self._simulation.set_behaviour(layers, merge=merge)
        except ValidationError as error:
            return json_response({"detail": error.errors(include_url=False, include_context=False)}, 422)
        except ValueError as error:
            return json_response({"detail": str(error)}, 422)
        return self._behaviour_view()

    def _behaviour_view(self) -> Response:
        behaviours: dict[str, Any] = {
            dialect: behaviour.model_dump(mode="json")
            for dialect, behaviour in self._simulation.behaviours().items()
        }
        return json_response(behaviours)
