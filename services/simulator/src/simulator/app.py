"""Wiring: `create_app(config)` builds one simulation, its four dialect desks and the admin desk."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from simulator.admin import AdminDesk
from simulator.config import SimulatorConfig
from simulator.dialects.gsma import GsmaDesk
from simulator.dialects.mtn import MtnDesk
from simulator.dialects.orange_bulk import OrangeBulkDesk
from simulator.dialects.wave import WaveDesk
from simulator.payment_routes import PaymentRoutes, payment_routes
from simulator.simulation import Simulation


def create_app(config: SimulatorConfig | None = None) -> PaymentRoutes:
    """The simulator as an ASGI app: the per-payment routes, ahead of a FastAPI app serving all the routes."""
    simulation = Simulation(config or SimulatorConfig())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with simulation.running():
            yield

    app = FastAPI(
        title="filet mobile-money provider simulator", lifespan=lifespan, openapi_url="/_admin/openapi.json"
    )
    gsma = GsmaDesk(simulation)
    mtn = MtnDesk(simulation, simulation.config.mtn)
    wave = WaveDesk(simulation, simulation.config.wave)
    for desk in (gsma, mtn, wave, OrangeBulkDesk(simulation)):
        simulation.register(desk)
        app.include_router(desk.router())
    app.include_router(AdminDesk(simulation).router())
    app.state.simulation = simulation
    return PaymentRoutes(app, routes=payment_routes(gsma, mtn, wave))


def simulation_of(app: PaymentRoutes) -> Simulation:
    """The simulation behind an app made by `create_app` (for in-process wiring such as the doorway)."""
    simulation = app.api.state.simulation
    if not isinstance(simulation, Simulation):
        raise TypeError("this app was not made by simulator.create_app")
    return simulation
