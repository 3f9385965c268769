"""A small fake of the Stripe API on 127.0.0.1: just what billing calls, in Stripe's documented shapes.

Form-encoded requests, JSON answers, Stripe error objects, Idempotency-Key replay, Billing Meters with
meter-event identifier de-duplication and the 35-day timestamp window, event summaries, customers, products,
prices with meters, subscriptions, Checkout and Billing Portal sessions, signed webhook events, and failure
injection (the next N requests answer 500 or 429, hang past the client's timeout, or are accepted and then hang).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

WINDOW_PAST_S = 35 * 24 * 3600
WINDOW_FUTURE_S = 5 * 60


class StripeFailure(Exception):
    def __init__(self, status: int, message: str, *, type_: str = "invalid_request_error", code=None, param=None):
        super().__init__(message)
        self.status, self.message, self.type, self.code, self.param = status, message, type_, code, param
        self.headers: dict[str, str] = {}

    def body(self) -> dict:
        error = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        return {"error": error}


def _missing(kind: str, id_: str, param: str = "id") -> StripeFailure:
    return StripeFailure(404, f"No such {kind}: '{id_}'", code="resource_missing", param=param)


def decode_form(pairs: list[tuple[str, str]]) -> dict:
    """Stripe's form encoding (`a[b][0][c]=v`, `expand[]=x`) back into nested dicts and lists."""
    root: dict = {}
    for key, value in pairs:
        head, _, rest = key.partition("[")
        parts = [head, *re.findall(r"\[?([^\[\]]*)\]", rest)] if rest else [head]
        node = root
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if part == "":
                node.setdefault("__list__", []).append(value)
                break
            if last:
                node[part] = value
            else:
                node = node.setdefault(part, {})
    return _listify(root)


def _listify(node):
    if not isinstance(node, dict):
        return node
    if "__list__" in node:
        return node["__list__"]
    if node and all(k.isdigit() for k in node):
        return [_listify(node[k]) for k in sorted(node, key=int)]
    return {k: _listify(v) for k, v in node.items()}


class FakeStripe:
    """State and behaviour; `FakeStripeServer` puts it on a port."""

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
            self.identifiers: set[str] = set()
            self.subscriptions: dict[str, dict] = {}
            self.checkout_sessions: dict[str, dict] = {}
            self.portal_sessions: dict[str, dict] = {}
            self.idempotency: dict[tuple[str, str], tuple[int, dict]] = {}
            self.failures: deque = deque()
            self.requests: list[tuple[str, str]] = []
            # What each request carried, in arrival order: method, path, Idempotency-Key header, decoded params.
            self.received: list[dict] = []
            self.hang_s = 2.0

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
                if e["event_name"] == event_name and customer in (None, e["payload"].get("stripe_customer_id"))
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
                    "created": int(time.time()),
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
            self.received.append(
                {"method": method, "path": path, "idempotency_key": headers.get("Idempotency-Key"), "params": params}
            )
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

    def _route(self, method: str, path: str, p: dict) -> dict:
        routes = [
            ("POST", r"/v1/customers", self.customer_create),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", self.customer_get),
            ("POST", r"/v1/products", self.product_create),
            ("GET", r"/v1/products/(?P<id>[^/]+)", self.product_get),
            ("POST", r"/v1/products/(?P<id>[^/]+)", self.product_update),
            ("POST", r"/v1/prices", self.price_create),
            ("GET", r"/v1/prices", self.price_list),
            ("POST", r"/v1/prices/(?P<id>[^/]+)", self.price_update),
            ("POST", r"/v1/billing/meters", self.meter_create),
            ("GET", r"/v1/billing/meters", self.meter_list),
            ("GET", r"/v1/billing/meters/(?P<id>[^/]+)", self.meter_get),
            ("POST", r"/v1/billing/meters/(?P<id>[^/]+)", self.meter_update),
            ("GET", r"/v1/billing/meters/(?P<id>[^/]+)/event_summaries", self.event_summaries),
            ("POST", r"/v1/billing/meter_events", self.meter_event_create),
            ("POST", r"/v1/subscriptions", self.subscription_create),
            ("GET", r"/v1/subscriptions/(?P<id>[^/]+)", self.subscription_get),
            ("DELETE", r"/v1/subscriptions/(?P<id>[^/]+)", self.subscription_cancel),
            ("POST", r"/v1/checkout/sessions", self.checkout_create),
            ("POST", r"/v1/billing_portal/sessions", self.portal_create),
        ]
        for verb, pattern, fn in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.lock:
                    return fn(p, **match.groupdict())
        raise StripeFailure(404, f"Unrecognized request URL ({method}: {path}).")

    @staticmethod
    def _id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(12)}"

    @staticmethod
    def _require(p: dict, *names: str) -> None:
        for name in names:
            if name not in p or p[name] in ("", None):
                raise StripeFailure(400, f"Missing required param: {name}.", code="parameter_missing", param=name)

    @staticmethod
    def _list(items, url: str) -> dict:
        return {"object": "list", "data": list(items), "has_more": False, "url": url}

    # --- customers, products, prices -------------------------------------------------------------
    def customer_create(self, p):
        customer = {
            "id": self._id("cus"),
            "object": "customer",
            "name": p.get("name"),
            "email": p.get("email"),
            "metadata": p.get("metadata") or {},
            "created": int(time.time()),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def customer_get(self, p, id):
        if id not in self.customers:
            raise _missing("customer", id)
        return self.customers[id]

    def product_create(self, p):
        self._require(p, "name")
        product_id = p.get("id") or self._id("prod")
        if product_id in self.products:
            raise StripeFailure(
                400, f"Product already exists with ID '{product_id}'.", code="resource_already_exists", param="id"
            )
        product = {
            "id": product_id,
            "object": "product",
            "name": p["name"],
            "active": True,
            "metadata": p.get("metadata") or {},
            "created": int(time.time()),
        }
        self.products[product_id] = product
        return product

    def product_get(self, p, id):
        if id not in self.products:
            raise _missing("product", id)
        return self.products[id]

    def product_update(self, p, id):
        product = self.product_get(p, id)
        if "name" in p:
            product["name"] = p["name"]
        if "active" in p:
            product["active"] = p["active"] == "true"
        return product

    def price_create(self, p):
        self._require(p, "currency", "product")
        if p["product"] not in self.products:
            raise _missing("product", p["product"], "product")
        recurring = p.get("recurring")
        if recurring:
            self._require(recurring, "interval")
            if recurring.get("usage_type") == "metered":
                meter = recurring.get("meter")
                if not meter:
                    raise StripeFailure(
                        400, "Metered prices must be backed by a meter: set recurring[meter].", param="recurring[meter]"
                    )
                if meter not in self.meters:
                    raise _missing("billing meter", meter, "recurring[meter]")
        lookup_key = p.get("lookup_key")
        if lookup_key:
            holders = [x for x in self.prices.values() if x.get("lookup_key") == lookup_key]
            if holders and p.get("transfer_lookup_key") != "true":
                raise StripeFailure(
                    400, f"A price (`{holders[0]['id']}`) already uses that lookup key.", param="lookup_key"
                )
            for holder in holders:
                holder["lookup_key"] = None
        price = {
            "id": self._id("price"),
            "object": "price",
            "active": True,
            "currency": p["currency"],
            "product": p["product"],
            "unit_amount_decimal": p.get("unit_amount_decimal"),
            "unit_amount": None,
            "lookup_key": lookup_key,
            "nickname": p.get("nickname"),
            "metadata": p.get("metadata") or {},
            "billing_scheme": "per_unit",
            "type": "recurring" if recurring else "one_time",
            "recurring": None
            if not recurring
            else {
                "interval": recurring["interval"],
                "interval_count": int(recurring.get("interval_count", 1)),
                "usage_type": recurring.get("usage_type", "licensed"),
                "meter": recurring.get("meter"),
            },
            "created": int(time.time()),
        }
        self.prices[price["id"]] = price
        return price

    def price_list(self, p):
        prices = list(self.prices.values())
        if "lookup_keys" in p:
            prices = [x for x in prices if x.get("lookup_key") in p["lookup_keys"]]
        if "active" in p:
            prices = [x for x in prices if x["active"] == (p["active"] == "true")]
        if "product" in p:
            prices = [x for x in prices if x["product"] == p["product"]]
        return self._list(prices, "/v1/prices")

    def price_update(self, p, id):
        if id not in self.prices:
            raise _missing("price", id)
        price = self.prices[id]
        if "active" in p:
            price["active"] = p["active"] == "true"
        return price

    # --- meters ---------------------------------------------------------------------------------
    def meter_create(self, p):
        self._require(p, "display_name", "event_name", "default_aggregation")
        if any(m["event_name"] == p["event_name"] and m["status"] == "active" for m in self.meters.values()):
            raise StripeFailure(
                400, f"An active meter with event_name `{p['event_name']}` already exists.", param="event_name"
            )
        now = int(time.time())
        meter = {
            "id": self._id("mtr"),
            "object": "billing.meter",
            "display_name": p["display_name"],
            "event_name": p["event_name"],
            "default_aggregation": {"formula": p["default_aggregation"]["formula"]},
            "customer_mapping": p.get("customer_mapping")
            or {"event_payload_key": "stripe_customer_id", "type": "by_id"},
            "value_settings": p.get("value_settings") or {"event_payload_key": "value"},
            "event_time_window": None,
            "status": "active",
            "status_transitions": {"deactivated_at": None},
            "created": now,
            "updated": now,
            "livemode": False,
        }
        self.meters[meter["id"]] = meter
        return meter

    def meter_list(self, p):
        meters = [m for m in self.meters.values() if p.get("status") in (None, m["status"])]
        return self._list(meters, "/v1/billing/meters")

    def meter_get(self, p, id):
        if id not in self.meters:
            raise _missing("billing meter", id)
        return self.meters[id]

    def meter_update(self, p, id):
        meter = self.meter_get(p, id)
        if "display_name" in p:
            meter["display_name"] = p["display_name"]
            meter["updated"] = int(time.time())
        return meter

    def meter_event_create(self, p):
        self._require(p, "event_name", "payload")
        payload = p["payload"]
        meter = next((m for m in self.meters.values() if m["event_name"] == p["event_name"]), None)
        if meter is None:
            raise StripeFailure(400, f"No active meter found for event_name `{p['event_name']}`.", param="event_name")
        customer = payload.get(meter["customer_mapping"]["event_payload_key"])
        if customer not in self.customers:
            raise _missing("customer", str(customer), "payload[stripe_customer_id]")
        value = payload.get(meter["value_settings"]["event_payload_key"])
        if value is None or not re.fullmatch(r"-?\d+(\.\d+)?", value):
            raise StripeFailure(400, "The payload value must be a number.", param="payload[value]")
        now = int(time.time())
        timestamp = int(p.get("timestamp", now))
        if not now - WINDOW_PAST_S <= timestamp <= now + WINDOW_FUTURE_S:
            raise StripeFailure(
                400,
                "Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.",
                param="timestamp",
            )
        identifier = p.get("identifier") or self._id("mev")
        if identifier in self.identifiers:
            # What Stripe answers for a duplicate identifier (400, no retry).
            failure = StripeFailure(400, f"An event already exists with identifier {identifier}.")
            failure.headers = {"Stripe-Should-Retry": "false"}
            raise failure
        self.identifiers.add(identifier)
        event = {
            "object": "billing.meter_event",
            "created": now,
            "event_name": p["event_name"],
            "identifier": identifier,
            "livemode": False,
            "payload": payload,
            "timestamp": timestamp,
        }
        self.meter_events.append(event)
        return event

    def event_summaries(self, p, id):
        meter = self.meter_get(p, id)
        self._require(p, "customer", "start_time", "end_time")
        start, end = int(p["start_time"]), int(p["end_time"])
        for name, value in (("start_time", start), ("end_time", end)):
            if value % 60:
                raise StripeFailure(400, f"{name} must be aligned with minute boundaries.", param=name)
        total = sum(
            float(e["payload"]["value"])
            for e in self.meter_events
            if e["event_name"] == meter["event_name"]
            and e["payload"].get("stripe_customer_id") == p["customer"]
            and start <= e["timestamp"] < end
        )
        summary = {
            "id": self._id("mtrusg"),
            "object": "billing.meter_event_summary",
            "aggregated_value": total,
            "start_time": start,
            "end_time": end,
            "livemode": False,
            "meter": id,
        }
        return self._list([summary], f"/v1/billing/meters/{id}/event_summaries")

    # --- subscriptions, checkout, portal ---------------------------------------------------------------
    def _subscription(self, customer: str, price_ids: list[str], metadata: dict) -> dict:
        now = int(time.time())
        subscription = {
            "id": self._id("sub"),
            "object": "subscription",
            "customer": customer,
            "status": "active",
            "metadata": metadata,
            "items": {
                "object": "list",
                "data": [{"id": self._id("si"), "price": self.prices[pid]} for pid in price_ids],
                "has_more": False,
            },
            "created": now,
            "current_period_start": now,
            "cancel_at_period_end": False,
        }
        self.subscriptions[subscription["id"]] = subscription
        return subscription

    def subscription_create(self, p):
        self._require(p, "customer", "items")
        if p["customer"] not in self.customers:
            raise _missing("customer", p["customer"], "customer")
        return self._subscription(p["customer"], [i["price"] for i in p["items"]], p.get("metadata") or {})

    def subscription_get(self, p, id):
        if id not in self.subscriptions:
            raise _missing("subscription", id)
        return self.subscriptions[id]

    def subscription_cancel(self, p, id):
        subscription = self.subscription_get(p, id)
        subscription["status"] = "canceled"
        return subscription

    def checkout_create(self, p):
        self._require(p, "mode", "success_url")
        if p["mode"] == "subscription":
            self._require(p, "line_items")
        customer = p.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        for i, item in enumerate(p.get("line_items") or []):
            price = self.prices.get(item.get("price"))
            if price is None:
                raise _missing("price", str(item.get("price")), f"line_items[{i}][price]")
            if (price.get("recurring") or {}).get("usage_type") == "metered" and "quantity" in item:
                raise StripeFailure(
                    400, "Quantity should not be specified where usage_type is `metered`.", param=f"line_items[{i}]"
                )
        session_id = self._id("cs_test")
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
        self._require(p, "customer")
        if p["customer"] not in self.customers:
            raise _missing("customer", p["customer"], "customer")
        session = {
            "id": self._id("bps"),
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

    # --- webhooks -------------------------------------------------------------------------------------
    def event(self, type_: str, obj: dict, *, created: int | None = None) -> dict:
        return {
            "id": self._id("evt"),
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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else each answer waits on a delayed ACK (~40 ms)
    fake: FakeStripe

    def log_message(self, *args):  # keep test output quiet
        pass

    def _serve(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        pairs = parse_qsl(url.query, keep_blank_values=True) + parse_qsl(body, keep_blank_values=True)
        status, answer, extra = self.fake.handle(method, url.path, decode_form(pairs), self.headers)
        data = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Request-Id", f"req_{secrets.token_hex(7)}")
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def do_GET(self):
        self._serve("GET")

    def do_POST(self):
        self._serve("POST")

    def do_DELETE(self):
        self._serve("DELETE")


class FakeStripeServer:
    """Runs a FakeStripe on 127.0.0.1:<free port> in a background thread."""

    def __init__(self, port: int = 0):
        self.fake = FakeStripe()
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.fake.base_url = self.url
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-stripe", daemon=True)

    def __enter__(self) -> FakeStripe:
        self.thread.start()
        return self.fake

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> None:
    """Serve a fake Stripe in its own process (benchmarks): prints its URL, then serves until killed."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    server = FakeStripeServer(port=parser.parse_args().port)
    print(server.fake.base_url, flush=True)
    server.httpd.serve_forever()


if __name__ == "__main__":
    main()
