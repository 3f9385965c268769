"""The fake's subscriptions, Checkout and Billing Portal sessions."""

from __future__ import annotations

import secrets

from tests.fakes.stripe_server.common import StripeFailure, add_months, missing, new_id, require


class SubscriptionsMixin:
    def routes(self) -> list:
        return [
            ("POST", r"/v1/subscriptions", self.subscription_create),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", self.subscription_get),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", self.subscription_cancel),
            ("POST", r"/v1/subscription_items", self.subscription_item_create),
            ("POST", r"/v1/subscription_items/(?P<id>[^/]+)", self.subscription_item_update),
            ("POST", r"/v1/checkout/sessions", self.checkout_create),
            ("POST", r"/v1/billing_portal/sessions", self.portal_create),
            *super().routes(),
        ]

    def _subscription(
        self, customer: str, price_ids: list[str], metadata: dict, *, anchor: int | None = None, proration=None
    ) -> dict:
        now = self.now()
        if anchor is not None and not now < anchor < add_months(now, 1):
            raise StripeFailure(
                400,
                "billing_cycle_anchor must be a future timestamp before the next natural billing date.",
                param="subscription_data[billing_cycle_anchor]",
            )
        period_end = anchor or add_months(now, 1)
        subscription = {
            "id": new_id("sub"),
            "object": "subscription",
            "customer": customer,
            "status": "active",
            "metadata": metadata,
            "items": {"object": "list", "data": [], "has_more": False},
            "created": now,
            "start_date": now,
            "billing_cycle_anchor": period_end,
            "proration_behavior_at_anchor": proration,
            "current_period_start": now,
            "current_period_end": period_end,
            "cancel_at_period_end": False,
        }
        for price_id in price_ids:
            self._item_add(subscription, price_id)
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def _item_add(self, subscription: dict, price_id: str) -> dict:
        if price_id not in self.prices:
            raise missing("price", price_id, "price")
        item = {
            "id": new_id("si"),
            "object": "subscription_item",
            "subscription": subscription["id"],
            "price": self.prices[price_id],
            "created": self.now(),
            # When each price took effect: usage before a change is billed at the price it was reported under.
            "price_history": [(subscription["current_period_start"], price_id)],
        }
        subscription["items"]["data"].append(item)
        return item

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

    def subscription_item_update(self, p, id):
        for subscription in self.subscriptions.values():
            for item in subscription["items"]["data"]:
                if item["id"] == id:
                    if "price" in p:
                        price = self.prices.get(p["price"])
                        if price is None:
                            raise missing("price", p["price"], "price")
                        if not price["active"]:
                            raise StripeFailure(400, f"The price {p['price']} is archived.", param="price")
                        item["price"] = price
                        item["price_history"].append((self.now(), price["id"]))
                    return item
        raise missing("subscription item", id)

    def subscription_item_create(self, p):
        require(p, "subscription", "price")
        subscription = self.subscription_get(p, p["subscription"])
        return self._item_add(subscription, p["price"])

    def subscription_set_status(self, subscription_id: str, status: str) -> dict:
        """Test control: e.g. `paused` (a trial ended without a payment method: no invoices while paused)."""
        with self.lock:
            self.subscriptions[subscription_id]["status"] = status
            return self.subscriptions[subscription_id]

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
            "subscription_anchor": (p.get("subscription_data") or {}).get("billing_cycle_anchor"),
            "subscription_proration": (p.get("subscription_data") or {}).get("proration_behavior"),
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
            "created": self.now(),
            "livemode": False,
        }
        self.portal_sessions[session["id"]] = session
        return session

    def checkout_complete(self, session_id: str) -> tuple[dict, dict]:
        """The customer pays: the session completes and a subscription is created. Returns (session, subscription)."""
        with self.lock:
            session = self.checkout_sessions[session_id]
            anchor = session["subscription_anchor"]
            subscription = self._subscription(
                session["customer"],
                session["line_items_prices"],
                session["subscription_metadata"],
                anchor=int(anchor) if anchor else None,
                proration=session["subscription_proration"],
            )
            session.update(status="complete", payment_status="paid", subscription=subscription["id"])
            return dict(session), dict(subscription)
