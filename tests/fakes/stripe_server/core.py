"""The fake's state, failure injection, idempotency and routing; the resources live in mixins."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque

from tests.fakes.stripe_server.common import StripeFailure


class FakeStripeCore:
    def __init__(self, api_key_prefix: str = "sk_test_"):
        self.lock = threading.RLock()
        self.api_key_prefix = api_key_prefix
        self.base_url = ""
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.customers: dict[str, dict] = {}
            self.products: dict[str, dict] = {}
            self.prices: dict[str, dict] = {}
            self.meters: dict[str, dict] = {}
            self.meter_events: list[dict] = []
            # identifier -> when Stripe received it; Stripe only guarantees uniqueness for 24 hours.
            self.identifiers: dict[str, int] = {}
            self.adjustments: list[dict] = []
            self.subscriptions: dict[str, dict] = {}
            self.invoices: dict[str, dict] = {}
            self.credit_notes: dict[str, dict] = {}
            self.v2_events: dict[str, dict] = {}
            self.checkout_sessions: dict[str, dict] = {}
            self.portal_sessions: dict[str, dict] = {}
            self.idempotency: dict[tuple[str, str], tuple[int, dict]] = {}
            self.failures: deque = deque()
            self.requests: list[tuple[str, str]] = []
            self.idempotency_keys: list[tuple[str, str, str | None]] = []  # (method, path, Idempotency-Key) a request
            self.hang_s = 2.0
            self.frozen_now: int | None = None
            self.duplicate_message: str | None = None  # another wording for the duplicate identifier error

    # --- the clock (a test clock: set it, and subscriptions roll their periods and invoice) ----
    def now(self) -> int:
        return int(time.time()) if self.frozen_now is None else self.frozen_now

    def set_now(self, timestamp: int | float | None) -> None:
        """Move the fake's clock (None: follow the real one); periods that end on the way are invoiced."""
        with self.lock:
            self.frozen_now = None if timestamp is None else int(timestamp)
            self.subscriptions_roll()

    def advance(self, seconds: int) -> None:
        self.set_now(self.now() + seconds)

    def subscriptions_roll(self) -> None:  # the subscriptions mixin invoices finished periods
        pass

    # --- test controls ---------------------------------------------------------------
    def fail_next(self, count: int, mode: str = "500", *, path: str = "") -> None:
        """The next `count` requests whose path starts with `path` fail: "500", "429", "hang" (before doing
        anything) or "accept_then_hang" (the work is done, the answer never arrives in time)."""
        with self.lock:
            self.failures.extend([(mode, path)] * count)

    def expire_idempotency_keys(self) -> None:
        """Stripe forgets idempotency keys after 24 hours; meter-event identifiers are what still protect us."""
        with self.lock:
            self.idempotency.clear()

    def meter_event_total(self, event_name: str, customer: str | None = None) -> float:
        with self.lock:
            return sum(
                float(e["payload"]["value"])
                for e in self.meter_events
                if e["event_name"] == event_name
                and customer in (None, e["payload"].get("stripe_customer_id"))
                and not e.get("canceled")
                and not e.get("rejected")
            )

    def plant_meter_event(self, *, event_name: str, customer: str, value: str, timestamp: int) -> None:
        """Put an event straight into Stripe (as if someone else reported it), for reconciliation tests."""
        with self.lock:
            self.meter_events.append(
                {
                    "object": "billing.meter_event",
                    "event_name": event_name,
                    "identifier": f"planted_{secrets.token_hex(6)}",
                    "payload": {"stripe_customer_id": customer, "value": value},
                    "timestamp": timestamp,
                    "created": self.now(),
                    "livemode": False,
                }
            )

    # --- dispatch ------------------------------------------------------------------------------
    def _take_failure(self, path: str) -> str | None:
        with self.lock:
            for i, (mode, prefix) in enumerate(self.failures):
                if path.startswith(prefix):
                    del self.failures[i]
                    return mode
        return None

    def handle(self, method: str, path: str, params: dict, headers) -> tuple[int, dict, dict]:
        """Returns (status, body, extra headers)."""
        with self.lock:
            self.requests.append((method, path))
            self.idempotency_keys.append((method, path, headers.get("Idempotency-Key")))
        auth = headers.get("Authorization", "")
        if not auth.startswith("Bearer " + self.api_key_prefix):
            return 401, StripeFailure(401, "Invalid API Key provided.").body(), {}
        failure = self._take_failure(path)
        if failure == "500":
            return 500, StripeFailure(500, "An unknown error occurred", type_="api_error").body(), {}
        if failure == "429":
            error = StripeFailure(429, "Too many requests.", type_="invalid_request_error", code="rate_limit")
            return 429, error.body(), {}
        if failure == "hang":
            time.sleep(self.hang_s)
            return 500, StripeFailure(500, "timed out", type_="api_error").body(), {}
        status, body, extra = self._answer(method, path, params, auth, headers.get("Idempotency-Key"))
        if failure == "accept_then_hang":
            time.sleep(self.hang_s)
        return status, body, extra

    def _answer(self, method: str, path: str, params: dict, auth: str, idem: str | None) -> tuple[int, dict, dict]:
        if method == "POST" and idem:
            with self.lock:
                saved = self.idempotency.get((auth, idem))
            if saved is not None:
                return saved[0], saved[1], {"Idempotent-Replayed": "true"}
        try:
            status, body, extra = 200, self._route(method, path, params), {}
        except StripeFailure as exc:
            status, body, extra = exc.status, exc.body(), exc.headers
        if method == "POST" and idem and status != 429:
            with self.lock:
                self.idempotency[(auth, idem)] = (status, body)
        return status, body, extra

    def routes(self) -> list[tuple[str, str, object]]:
        return []

    def _route(self, method: str, path: str, p: dict) -> dict:
        for verb, pattern, fn in self.routes():
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.lock:
                    return fn(p, **match.groupdict())
        raise StripeFailure(404, f"Unrecognized request URL ({method}: {path}).")
