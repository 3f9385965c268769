"""The simulator's webhooks: scheduled when a job is created, sent when due, retried, lost or delayed on purpose."""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from provider_simulator.http import django_app, origin_of
from provider_simulator.state import Job

if TYPE_CHECKING:
    from provider_simulator.simulator import Simulator


def schedule_webhook(simulator: Simulator, db, job: Job, url: str) -> None:
    config = simulator.config
    with simulator._lock:
        lost = simulator._rng.random() < config.webhook_loss_rate
    state = "pending" if config.webhooks_enabled and not lost else "lost"
    payload = {
        "exec_id": job.id,
        "status": "succeeded" if job.outcome == "success" else "failed",
        "output": job.output_url,
        "error": job.details if job.outcome == "error" else "",
    }
    simulator.store.insert_webhook(
        db, job_id=job.id, url=url, payload=payload, due_at=job.finish_at + config.webhook_delay_s, state=state
    )
    if state == "lost":
        simulator.stats["webhooks_lost"] += 1


def deliver_due(simulator: Simulator) -> int:
    """Send every webhook that is due (one attempt each); returns how many were accepted with a 2xx."""
    now = simulator.clock()
    delivered = 0
    # Outputs render on first download, not here, so a burst of finishing jobs does not delay the webhooks.
    for hook in simulator.store.claim_due_webhooks(now, lease_s=simulator.config.webhook_timeout_s + 30):
        status, error = _post(simulator, hook.url, hook.payload)
        simulator.stats["webhook_attempts"] += 1
        attempts = hook.attempts + 1
        if status is not None and 200 <= status < 300:
            delivered += 1
            simulator.stats["webhooks_delivered"] += 1
            simulator.store.record_webhook_attempt(hook.job_id, state="delivered", due_at=now, status=status, error="")
            continue
        delays = simulator.config.webhook_retry_delays_s or (0.0,)
        state = "gave_up" if attempts >= simulator.config.webhook_attempts else "pending"
        due_at = simulator.clock() + delays[min(attempts - 1, len(delays) - 1)]
        simulator.store.record_webhook_attempt(hook.job_id, state=state, due_at=due_at, status=status, error=error)
    return delivered


def _post(simulator: Simulator, url: str, payload: dict) -> tuple[int | None, str]:
    try:
        with httpx.Client(transport=_transport_for(simulator, url), timeout=simulator.config.webhook_timeout_s) as http:
            response = http.post(url, json=payload)
        return response.status_code, "" if response.is_success else response.text[:200]
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"


def _transport_for(simulator: Simulator, url: str) -> httpx.BaseTransport | None:
    if simulator.webhook_transport is not None:
        return simulator.webhook_transport
    if simulator.deliver_site_in_process and simulator.site_url and origin_of(url) == origin_of(simulator.site_url):
        return httpx.WSGITransport(app=django_app)
    return None
