"""The simulator's knobs (SimulatorConfig and its checked changes), its clocks, and scripted answers (Forced)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, fields


@dataclass
class SimulatorConfig:
    """Every knob of the simulator; change attributes on a live instance (tests do)."""

    latency_s: float | None = None  # None: a seeded draw around the documented ~220 s
    latency_mean_s: float = 220.0
    latency_sd_s: float = 35.0
    failure_rate: float = 0.0
    create_limit: int = 100
    create_window_s: float = 60.0
    concurrency_limit: int = 10
    error_429_rate: float = 0.0  # share of API calls answered 429 (1.0 is a storm)
    error_5xx_rate: float = 0.0  # share of API calls answered 500/502/503
    storm_retry_after_s: int = 2
    response_delay_s: float = 0.0  # slow answers; past the client's read timeout they time out
    webhooks_enabled: bool = True
    webhook_loss_rate: float = 0.0  # share of webhooks never sent
    webhook_delay_s: float = 0.0  # sent this long after the job ends
    webhook_attempts: int = 4
    webhook_retry_delays_s: tuple[float, ...] = (5.0, 30.0, 120.0)
    webhook_timeout_s: float = 30.0
    output_retention_s: float = 3600.0
    allow_local_urls: bool = False
    accepted_keys: frozenset[str] | None = None  # None: any non-empty key
    # A key's own concurrent-job limit, overriding concurrency_limit for it (the provider's real, per-account one).
    key_concurrency_limits: dict[str, int] | None = None
    # `auto` lengths: like the real model's, a hair past whole seconds (5.042 s is 121 frames at 24 fps).
    auto_extra_s: float = 0.042  # added to the whole seconds `auto` picks from a hash of the input
    auto_duration_s: float | None = None  # render every `auto` job at exactly this length (e.g. 5.042)


class SystemClock:
    def __call__(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class FakeClock:
    """A clock tests move by hand; sleeping just moves it."""

    def __init__(self, start: float | None = None):
        self.now = time.time() if start is None else start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    sleep = advance


@dataclass
class Forced:
    """One scripted answer for the next matching API call (see Simulator.force_next)."""

    status_code: int | None = None
    retry_after: float | None = None
    message: str = ""
    details: str = ""
    timeout: bool = False
    network_error: bool = False
    method: str | None = None


def configure(config: SimulatorConfig, **changes) -> None:
    """Change config fields by name, checking names and coercing types (the control endpoint uses this)."""
    known = {item.name: item for item in fields(SimulatorConfig)}
    for name, value in changes.items():
        if name not in known:
            raise ValueError(f"unknown config field {name!r}")
        current = getattr(config, name)
        if name == "accepted_keys":
            value = None if value is None else frozenset(value)
        elif name == "key_concurrency_limits":
            value = None if value is None else {str(key): int(limit) for key, limit in dict(value).items()}
        elif name in ("latency_s", "auto_duration_s"):
            value = None if value is None else float(value)
        elif isinstance(current, bool):
            if not isinstance(value, bool):
                raise TypeError(f"{name} must be true or false")
        elif isinstance(current, tuple):
            value = tuple(float(item) for item in value)
        else:
            value = type(current)(value)
        if name.endswith("_rate") and not 0.0 <= value <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")
        setattr(config, name, value)
