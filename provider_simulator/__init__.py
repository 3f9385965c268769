"""A stand-in for the Eachlabs provider (development, tests, demos); the product never imports it.

Only settings choose it: `EACHLABS_SIMULATOR_TRANSPORT` names `in_process_transport`, and seedance_saas/urls.py
mounts `provider_simulator.urls` when the simulator is in use.
"""

from provider_simulator.config import FakeClock, SimulatorConfig
from provider_simulator.process import get_simulator, in_process_transport, set_simulator, simulator_from_settings
from provider_simulator.simulator import Simulator

__all__ = [
    "FakeClock",
    "Simulator",
    "SimulatorConfig",
    "get_simulator",
    "in_process_transport",
    "set_simulator",
    "simulator_from_settings",
]
