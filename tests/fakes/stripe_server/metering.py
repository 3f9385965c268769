"""The fake's Billing Meters, meter events (identifiers, the 35-day window) and event summaries."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.fakes.stripe_server.common import (
    IDENTIFIER_TTL_S,
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
            ("POST", r"/v1/billing/meter_event_adjustments", self.meter_event_adjustment_create),
            ("GET", r"/v2/core/events/(?P<id>[^/]+)", self.v2_event_get),
            *super().routes(),
        ]

    def meter_create(self, p):
        require(p, "display_name", "event_name", "default_aggregation")
        if any(m["event_name"] == p["event_name"] and m["status"] == "active" for m in self.meters.values()):
            raise StripeFailure(
                400, f"An active meter with event_name `{p['event_name']}` already exists.", param="event_name"
            )
        now = self.now()
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
            meter["updated"] = self.now()
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
        now = self.now()
        timestamp = int(p.get("timestamp", now))
        if not now - WINDOW_PAST_S <= timestamp <= now + WINDOW_FUTURE_S:
            raise StripeFailure(
                400,
                "Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.",
                param="timestamp",
            )
        identifier = p.get("identifier") or new_id("mev")
        seen_at = self.identifiers.get(identifier)
        if seen_at is not None and now - seen_at < IDENTIFIER_TTL_S:
            # What Stripe answers for a duplicate identifier (400, no retry); the wording is not a contract.
            failure = StripeFailure(
                400,
                self.duplicate_message or f"An event already exists with identifier {identifier}.",
                code="duplicate_meter_event",
            )
            failure.headers = {"Stripe-Should-Retry": "false"}
            raise failure
        # Stripe keeps identifiers "for at least 24 hours": after that the same identifier counts again.
        self.identifiers[identifier] = now
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
            and not e.get("canceled")
            and not e.get("rejected")
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

    def meter_event_adjustment_create(self, p):
        """Cancel one meter event by identifier, only within 24 hours of Stripe receiving it."""
        require(p, "event_name", "type")
        if p["type"] != "cancel":
            raise StripeFailure(400, "Only `cancel` adjustments are supported.", param="type")
        identifier = (p.get("cancel") or {}).get("identifier")
        if not identifier:
            raise StripeFailure(400, "Missing required param: cancel[identifier].", param="cancel[identifier]")
        event = next(
            (e for e in self.meter_events if e["identifier"] == identifier and e["event_name"] == p["event_name"]),
            None,
        )
        if event is None:
            raise StripeFailure(400, f"No meter event with identifier {identifier}.", param="cancel[identifier]")
        if self.now() - event["created"] >= IDENTIFIER_TTL_S:
            raise StripeFailure(
                400, "Meter events can only be canceled within 24 hours of being received.", param="cancel[identifier]"
            )
        event["canceled"] = True
        adjustment = {
            "object": "billing.meter_event_adjustment",
            "livemode": False,
            "status": "pending",
            "event_name": p["event_name"],
            "type": "cancel",
            "cancel": {"identifier": identifier},
        }
        self.adjustments.append(adjustment)
        return adjustment

    # --- asynchronous meter errors (a thin v2 event) -------------------------------------------------
    def meter_error_report(self, identifiers: list[str], *, code: str = "meter_event_customer_not_found") -> dict:
        """Stripe rejects accepted events after the fact: they stop counting, and a thin
        `v1.billing.meter.error_report_triggered` event names them. Returns the notification body to deliver."""
        with self.lock:
            events = [e for e in self.meter_events if e["identifier"] in identifiers]
            for event in events:
                event["rejected"] = True
            meter = next(
                (m for m in self.meters.values() if events and m["event_name"] == events[0]["event_name"]),
                next(iter(self.meters.values()), {"id": "mtr_unknown"}),
            )
            created = datetime.fromtimestamp(self.now(), UTC).isoformat().replace("+00:00", "Z")
            notification = {
                "id": new_id("evt_test"),
                "object": "v2.core.event",
                "type": "v1.billing.meter.error_report_triggered",
                "created": created,
                "livemode": False,
                "related_object": {
                    "id": meter["id"],
                    "type": "billing.meter",
                    "url": f"/v1/billing/meters/{meter['id']}",
                },
            }
            samples = [
                {"error_message": f"Customer for event {i} was not found.", "request": {"identifier": i}}
                for i in identifiers
            ]
            self.v2_events[notification["id"]] = {
                **notification,
                "data": {
                    "developer_message_summary": f"{len(identifiers)} meter event(s) were rejected.",
                    "reason": {
                        "error_count": len(identifiers),
                        "error_types": [{"code": code, "error_count": len(identifiers), "sample_errors": samples}],
                    },
                    "validation_start": created,
                    "validation_end": created,
                },
            }
            return notification

    def v2_event_get(self, p, id):
        if id not in self.v2_events:
            raise missing("event", id)
        return self.v2_events[id]
