"""A stand-in for the Eachlabs provider (development, tests, demos); the product never imports it.

Only settings choose it: `EACHLABS_SIMULATOR_TRANSPORT` names `in_process_transport`, and seedance_saas/urls.py
mounts `provider_simulator.urls` when the simulator is in use. The names below load on first use, so listing
the app in INSTALLED_APPS (for its `eachlabs_simulator` command) loads none of the simulator in a process that
never uses it, as before the move.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from provider_simulator.config import FakeClock, SimulatorConfig
    from provider_simulator.process import get_simulator, in_process_transport, set_simulator, simulator_from_settings
    from provider_simulator.simulator import Simulator

_EXPORTS = {
    "FakeClock": "provider_simulator.config",
    "SimulatorConfig": "provider_simulator.config",
    "Simulator": "provider_simulator.simulator",
    "get_simulator": "provider_simulator.process",
    "in_process_transport": "provider_simulator.process",
    "set_simulator": "provider_simulator.process",
    "simulator_from_settings": "provider_simulator.process",
}
__all__ = [
    "FakeClock",
    "Simulator",
    "SimulatorConfig",
    "get_simulator",
    "in_process_transport",
    "set_simulator",
    "simulator_from_settings",
]


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_EXPORTS[name]), name)
