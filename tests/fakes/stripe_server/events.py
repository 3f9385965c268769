"""Signed webhook events, as Stripe sends them."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

from tests.fakes.stripe_server.common import new_id


class EventsMixin:
    def event(self, type_: str, obj: dict, *, created: int | None = None) -> dict:
        return {
            "id": new_id("evt"),
            "object": "event",
            "api_version": "2025-03-31.basil",
            "created": created or int(time.time()),
            "type": type_,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "data": {"object": obj},
        }

    @staticmethod
    def sign(payload: bytes, secret: str, *, timestamp: int | None = None) -> str:
        """A Stripe-Signature header: t=<unix time>,v1=<HMAC-SHA256 of "t.payload" under the secret>."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        signed = f"{timestamp}.".encode() + payload
        signature = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
        return f"t={timestamp},v1={signature}"

    def signed_event(self, type_: str, obj: dict, secret: str, **kwargs) -> tuple[bytes, str, dict]:
        event = self.event(type_, obj, created=kwargs.pop("created", None))
        payload = json.dumps(event).encode()
        return payload, self.sign(payload, secret, **kwargs), event
