"""The fake's Billing Meters, meter events (identifiers, the 35-day window) and event summaries."""

from __future__ import annotations

import re
import time

from tests.fakes.stripe_server.common import (
    WINDOW_FUTURE_S,
    WINDOW_PAST_S,
    StripeFailure,
    missing,
    new_id,
    require,
    stripe_list,
)


class MeteringMixin:
    def routes(self) -> list:
        return [
            ("POST", r"/v1/billing/meters", self.meter_create),
            ("GET", r"/v1/billing/meters", self.meter_list),
            ("GET", r"/v1/billing/meters/(?P<id>[^/]+)", self.meter_get),
            ("POST", r"/v1/billing/meters/(?P<id>[^/]+)", self.meter_update),
            ("GET", r"/v1/billing/meters/(?P<id>[^/]+)/event_summaries", self.event_summaries),
            ("POST", r"/v1/billing/meter_events", self.meter_event_create),
            *super().routes(),
        ]

    def meter_create(self, p):
        require(p, "display_name", "event_name", "default_aggregation")
        if any(m["event_name"] == p["event_name"] and m["status"] == "active" for m in self.meters.values()):
            raise StripeFailure(
                400, f"An active meter with event_name `{p['event_name']}` already exists.", param="event_name"
            )
        now = int(time.time())
        meter = {
            "id": new_id("mtr"),
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
        return stripe_list(meters, "/v1/billing/meters")

    def meter_get(self, p, id):
        if id not in self.meters:
            raise missing("billing meter", id)
        return self.meters[id]

    def meter_update(self, p, id):
        meter = self.meter_get(p, id)
        if "display_name" in p:
            meter["display_name"] = p["display_name"]
            meter["updated"] = int(time.time())
        return meter

    def meter_event_create(self, p):
        require(p, "event_name", "payload")
        payload = p["payload"]
        meter = next((m for m in self.meters.values() if m["event_name"] == p["event_name"]), None)
        if meter is None:
            raise StripeFailure(400, f"No active meter found for event_name `{p['event_name']}`.", param="event_name")
        customer = payload.get(meter["customer_mapping"]["event_payload_key"])
        if customer not in self.customers:
            raise missing("customer", str(customer), "payload[stripe_customer_id]")
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
        identifier = p.get("identifier") or new_id("mev")
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
        require(p, "customer", "start_time", "end_time")
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
            "id": new_id("mtrusg"),
            "object": "billing.meter_event_summary",
            "aggregated_value": total,
            "start_time": start,
            "end_time": end,
            "livemode": False,
            "meter": id,
        }
        return stripe_list([summary], f"/v1/billing/meters/{id}/event_summaries")
