"""Fixtures of the generations tests: the provider simulator wired into get_client()."""

from pathlib import Path

import pytest

from generations.eachlabs.client import DEFAULT_BASE_URL, reset_client
from provider_simulator import FakeClock, Simulator, SimulatorConfig, set_simulator


@pytest.fixture(autouse=True)
def _eachlabs_isolated(settings, tmp_path):
    """Whatever a test does, the in-process simulator lives under tmp_path and no cached client leaks out."""
    settings.EACHLABS_SIMULATOR_DIR = tmp_path / "eachlabs-default"
    settings.EACHLABS_SIMULATOR_BACKGROUND = False
    set_simulator(None)
    reset_client()
    yield
    set_simulator(None)
    reset_client()


@pytest.fixture
def simulator(settings, tmp_path, _eachlabs_isolated) -> Simulator:
    """The in-process Eachlabs simulator that get_client() talks to, with a fake clock.

    - Time only moves when you say: `simulator.advance(seconds)`; jobs take `simulator.config.latency_s`
      (30 s here) and then report success (or error at `simulator.config.failure_rate`).
    - Webhooks go out only when you call `simulator.deliver_webhooks()` (one attempt per due webhook;
      failed attempts are retried after `config.webhook_retry_delays_s`). Webhooks to SITE_URL reach this
      Django app in-process; `simulator.webhook_transport = httpx.MockTransport(...)` catches them instead.
    - Faults: `simulator.force_next(status_code=429, retry_after=3)` (any status, `message`, `details`,
      `method="GET"`, `count=N`), `force_next(timeout=True)` (processed, then the client times out; `hang=True`
      is the same), `force_next(network_error=True)` (never reaches the provider); `config.error_429_rate` /
      `config.error_5xx_rate` (1.0 is a storm), `config.webhooks_enabled = False` / `config.webhook_loss_rate`,
      `config.webhook_delay_s`, `config.response_delay_s`, `config.output_retention_s`, `config.create_limit`,
      `config.concurrency_limit`, `config.accepted_keys = frozenset({"other"})` (our key is refused: 401).
    - Look inside: `simulator.job(prediction_id).input` is what the client sent; `simulator.stats` counts
      create_requests, creates, gets, rate_limited, invalid, not_found, unauthorized, faults,
      webhook_attempts, webhooks_delivered, webhooks_lost, renders, outputs_served.
    Local (http://127.0.0.1:8000/media/...) image URLs are allowed, as in the in-process runtime.
    """
    return install_test_simulator(settings=settings, tmp_path=tmp_path, site_url=settings.SITE_URL)


def install_test_simulator(*, settings, tmp_path: Path, site_url: str) -> Simulator:
    """Builds the fake-clock simulator for `site_url` and makes get_client() talk to it."""
    settings.EACHLABS_API_KEY = ""
    settings.EACHLABS_SIMULATED = True
    settings.EACHLABS_BASE_URL = DEFAULT_BASE_URL
    instance = Simulator(
        state_dir=Path(tmp_path) / "eachlabs-simulator",
        output_base_url=f"{site_url}/simulator/outputs",
        config=SimulatorConfig(latency_s=30.0, allow_local_urls=True),
        clock=FakeClock(),
        seed=1234,
        site_url=site_url,
        media_url=settings.MEDIA_URL,
        deliver_site_in_process=True,
    )
    set_simulator(instance)
    reset_client()
    return instance
