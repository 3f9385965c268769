"""The fake's subscriptions, Checkout and Billing Portal sessions."""

from __future__ import annotations

import secrets
import time

from tests.fakes.stripe_server.common import StripeFailure, missing, new_id, require


class SubscriptionsMixin:
    def routes(self) -> list:
        return [
            ("POST", r"/v1/subscriptions", self.subscription_create),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", self.subscription_get),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", self.subscription_cancel),
            ("POST", r"/v1/checkout/sessions", self.checkout_create),
            ("POST", r"/v1/billing_portal/sessions", self.portal_create),
            *super().routes(),
        ]

    def _subscription(self, customer: str, price_ids: list[str], metadata: dict) -> dict:
        now = int(time.time())
        subscription = {
            "id": new_id("sub"),
            "object": "subscription",
            "customer": customer,
            "status": "active",
            "metadata": metadata,
            "items": {
                "object": "list",
                "data": [{"id": new_id("si"), "price": self.prices[pid]} for pid in price_ids],
                "has_more": False,
            },
            "created": now,
            "current_period_start": now,
            "cancel_at_period_end": False,
        }
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def subscription_create(self, p):
        require(p, "customer", "items")
        if p["customer"] not in self.customers:
            raise missing("customer", p["customer"], "customer")
        return self._subscription(p["customer"], [i["price"] for i in p["items"]], p.get("metadata") or {})

    def subscription_get(self, p, id):
        if id not in self.subscriptions:
            raise missing("subscription", id)
        return self.subscriptions[id]

    def subscription_cancel(self, p, id):
        subscription = self.subscription_get(p, id)
        subscription["status"] = "canceled"
        return subscription

    def checkout_create(self, p):
        require(p, "mode", "success_url")
        if p["mode"] == "subscription":
            require(p, "line_items")
        customer = p.get("customer")
        if customer and customer not in self.customers:
            raise missing("customer", customer, "customer")
        for i, item in enumerate(p.get("line_items") or []):
            price = self.prices.get(item.get("price"))
            if price is None:
                raise missing("price", str(item.get("price")), f"line_items[{i}][price]")
            if (price.get("recurring") or {}).get("usage_type") == "metered" and "quantity" in item:
                raise StripeFailure(
                    400, "Quantity should not be specified where usage_type is `metered`.", param=f"line_items[{i}]"
                )
        session_id = new_id("cs_test")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": p["mode"],
            "status": "open",
            "payment_status": "unpaid",
            "customer": customer,
            "client_reference_id": p.get("client_reference_id"),
            "metadata": p.get("metadata") or {},
            "success_url": p["success_url"],
            "cancel_url": p.get("cancel_url"),
            "subscription": None,
            "url": f"{self.base_url}/c/pay/{session_id}",
            "line_items_prices": [i["price"] for i in p.get("line_items") or []],
            "subscription_metadata": (p.get("subscription_data") or {}).get("metadata") or {},
        }
        self.checkout_sessions[session_id] = session
        return session

    def portal_create(self, p):
        require(p, "customer")
        if p["customer"] not in self.customers:
            raise missing("customer", p["customer"], "customer")
        session = {
            "id": new_id("bps"),
            "object": "billing_portal.session",
            "customer": p["customer"],
            "return_url": p.get("return_url"),
            "url": f"{self.base_url}/p/session/{secrets.token_hex(8)}",
            "created": int(time.time()),
            "livemode": False,
        }
        self.portal_sessions[session["id"]] = session
        return session

    def checkout_complete(self, session_id: str) -> tuple[dict, dict]:
        """The customer pays: the session completes and a subscription is created. Returns (session, subscription)."""
        with self.lock:
            session = self.checkout_sessions[session_id]
            subscription = self._subscription(
                session["customer"], session["line_items_prices"], session["subscription_metadata"]
            )
            session.update(status="complete", payment_status="paid", subscription=subscription["id"])
            return dict(session), dict(subscription)
