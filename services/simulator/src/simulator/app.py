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
from simulator.simulation import Simulation


def create_app(config: SimulatorConfig | None = None) -> FastAPI:
    simulation = Simulation(config or SimulatorConfig())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with simulation.running():
            yield

    app = FastAPI(
        title="filet mobile-money provider simulator", lifespan=lifespan, openapi_url="/_admin/openapi.json"
    )
    desks = (
        GsmaDesk(simulation),
        MtnDesk(simulation, simulation.config.mtn),
        WaveDesk(simulation, simulation.config.wave),
        OrangeBulkDesk(simulation),
    )
    for desk in desks:
        simulation.register(desk)
        app.include_router(desk.router())
    app.include_router(AdminDesk(simulation).router())
    app.state.simulation = simulation
    return app


def simulation_of(app: FastAPI) -> Simulation:
    """The simulation behind an app made by `create_app` (for in-process wiring such as the doorway)."""
    simulation = app.state.simulation
    if not isinstance(simulation, Simulation):
        raise TypeError("this app was not made by simulator.create_app")
    return simulation
