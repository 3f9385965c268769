"""The process's own simulator (in-process mode): built from settings on first use, replaced by tests."""

from __future__ import annotations

import threading
from pathlib import Path

import httpx

from provider_simulator.config import SimulatorConfig
from provider_simulator.simulator import Simulator

_process_simulator: Simulator | None = None
_process_lock = threading.Lock()


def simulator_from_settings(**overrides) -> Simulator:
    from django.conf import settings

    config = SimulatorConfig(
        latency_s=settings.EACHLABS_SIMULATOR_LATENCY,
        failure_rate=settings.EACHLABS_SIMULATOR_FAILURE_RATE,
        output_retention_s=settings.EACHLABS_SIMULATOR_OUTPUT_RETENTION_S,
        allow_local_urls=True,
    )
    options = {
        "state_dir": Path(settings.EACHLABS_SIMULATOR_DIR),
        "output_base_url": f"{settings.SITE_URL}/simulator/outputs",
        "config": config,
        "seed": settings.EACHLABS_SIMULATOR_SEED,
        "site_url": settings.SITE_URL,
        "media_url": settings.MEDIA_URL,
        "deliver_site_in_process": True,
    }
    options.update(overrides)
    return Simulator(**options)


def get_simulator() -> Simulator:
    """The in-process simulator of this process, built from settings on first use."""
    global _process_simulator
    with _process_lock:
        from django.conf import settings

        if _process_simulator is None:
            _process_simulator = simulator_from_settings()
        if settings.EACHLABS_SIMULATOR_BACKGROUND:
            # Idempotent while the thread lives; restarts it in a forked worker, where it does not exist.
            _process_simulator.start_background()
        return _process_simulator


def set_simulator(simulator: Simulator | None) -> None:
    """Install (or with None, drop) the process's simulator; tests install one with a fake clock."""
    global _process_simulator
    with _process_lock:
        if _process_simulator is not None and _process_simulator is not simulator:
            _process_simulator.stop_background()
        _process_simulator = simulator


def in_process_transport(*, api_base_url: str) -> httpx.BaseTransport:
    """The httpx transport into this process's simulator; settings.EACHLABS_SIMULATOR_TRANSPORT names it."""
    return get_simulator().transport(api_base_url=api_base_url)
