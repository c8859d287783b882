"""Mobile-money provider simulator: GSMA MMAPI, MTN MoMo, Wave and Orange-style bulk files on loopback."""

from simulator.app import create_app, simulation_of
from simulator.config import SimulatorConfig
from simulator.receiver import CallbackReceiver, ReceivedCallback
from simulator.server import BackgroundServer, SimulatorServer

__all__ = [
    "BackgroundServer",
    "CallbackReceiver",
    "ReceivedCallback",
    "SimulatorConfig",
    "SimulatorServer",
    "create_app",
    "simulation_of",
]
