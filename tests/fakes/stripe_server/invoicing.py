"""The fake's invoices and credit notes: metered usage billed in arrears, each line rounded to the cent.

At the end of a subscription's period (when the test clock passes it) the fake finalizes an invoice with one
line per price that billed usage in the period: the quantity is the sum of the meter's events (timestamp in
the period, not canceled, not rejected) while that price was on the item, and the amount is
quantity x unit_amount_decimal rounded to a whole cent, half up, per line as Stripe does. Events that arrive
after the invoice was finalized are never invoiced. A paused or canceled subscription is not invoiced.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from tests.fakes.stripe_server.common import StripeFailure, add_months, missing, new_id, require, stripe_list

INVOICED_STATUSES = ("active", "past_due", "trialing")


class InvoicingMixin:
    def routes(self) -> list:
        return [
            ("GET", r"/v1/invoices", self.invoice_list),
            ("POST", r"/v1/invoices/create_preview", self.invoice_preview),
            ("GET", r"/v1/invoices/(?P<id>[^/]+)", self.invoice_get),
            ("POST", r"/v1/credit_notes", self.credit_note_create),
            ("GET", r"/v1/credit_notes", self.credit_note_list),
            *super().routes(),
        ]

    def subscriptions_roll(self) -> None:
        now = self.now()
        for subscription in self.subscriptions.values():
            while subscription["current_period_end"] <= now and subscription["status"] != "canceled":
                start, end = subscription["current_period_start"], subscription["current_period_end"]
                if subscription["status"] in INVOICED_STATUSES:
                    invoice = self._invoice(subscription, start, end, status="open", id_=new_id("in"))
                    self.invoices[invoice["id"]] = invoice
                subscription["current_period_start"] = end
                subscription["current_period_end"] = add_months(end, 1)

    def _invoice(self, subscription: dict, start: int, end: int, *, status: str, id_: str) -> dict:
        lines = []
        for item in subscription["items"]["data"]:
            history = item["price_history"]
            for index, (price_from, price_id) in enumerate(history):
                price_to = history[index + 1][0] if index + 1 < len(history) else end
                segment_start, segment_end = max(start, price_from), min(end, price_to)
                if segment_start >= segment_end:
                    continue
                line = self._line(subscription, self.prices[price_id], segment_start, segment_end, start, end)
                if line is not None:
                    lines.append(line)
        subtotal = sum(line["amount"] for line in lines)
        return {
            "id": id_,
            "object": "invoice",
            "customer": subscription["customer"],
            "status": status,
            "currency": "usd",
            "created": self.now(),
            "period_start": start,
            "period_end": end,
            "parent": {
                "type": "subscription_details",
                "subscription_details": {"subscription": subscription["id"], "metadata": subscription["metadata"]},
            },
            "lines": stripe_list(lines, f"/v1/invoices/{id_}/lines"),
            "subtotal": subtotal,
            "total": subtotal,
            "amount_due": subtotal,
            "post_payment_credit_notes_amount": 0,
            "livemode": False,
        }

    def _line(self, subscription, price, usage_start, usage_end, start, end) -> dict | None:
        meter = self.meters.get((price.get("recurring") or {}).get("meter") or "")
        if meter is None:
            return None
        quantity = sum(
            Decimal(e["payload"]["value"])
            for e in self.meter_events
            if e["event_name"] == meter["event_name"]
            and e["payload"].get("stripe_customer_id") == subscription["customer"]
            and usage_start <= e["timestamp"] < usage_end
            and not e.get("canceled")
            and not e.get("rejected")
        )
        if not quantity:
            return None
        cents = (quantity * Decimal(price["unit_amount_decimal"])).quantize(Decimal(1), rounding=ROUND_HALF_UP)
        return {
            "id": new_id("il"),
            "object": "line_item",
            "amount": int(cents),
            "currency": "usd",
            "description": f"{quantity} x {price.get('nickname') or price['id']}",
            "period": {"start": start, "end": end},
            "quantity": int(quantity) if quantity == int(quantity) else float(quantity),
            "pricing": {
                "type": "price_details",
                "price_details": {"price": price["id"], "product": price["product"]},
                "unit_amount_decimal": price["unit_amount_decimal"],
            },
        }

    def invoice_list(self, p):
        invoices = [
            i
            for i in self.invoices.values()
            if p.get("customer") in (None, i["customer"])
            and p.get("subscription") in (None, i["parent"]["subscription_details"]["subscription"])
        ]
        return stripe_list(sorted(invoices, key=lambda i: -i["period_start"]), "/v1/invoices")

    def invoice_get(self, p, id):
        if id not in self.invoices:
            raise missing("invoice", id)
        return self.invoices[id]

    def invoice_preview(self, p):
        """The upcoming invoice: the current period's usage so far."""
        require(p, "subscription")
        subscription = self.subscriptions.get(p["subscription"])
        if subscription is None:
            raise missing("subscription", p["subscription"], "subscription")
        if subscription["status"] == "canceled":
            raise StripeFailure(400, "No upcoming invoices for a canceled subscription.", code="invoice_upcoming_none")
        start, end = subscription["current_period_start"], subscription["current_period_end"]
        return self._invoice(subscription, start, end, status="draft", id_=f"upcoming_{subscription['id']}")

    def credit_note_create(self, p):
        require(p, "invoice")
        invoice = self.invoices.get(p["invoice"])
        if invoice is None:
            raise missing("invoice", p["invoice"], "invoice")
        if invoice["status"] not in ("open", "paid"):
            raise StripeFailure(400, "Credit notes can only be issued on finalized invoices.", param="invoice")
        lines = p.get("lines") or []
        amount = sum(int(line["unit_amount"]) * int(line.get("quantity", 1)) for line in lines)
        credited = sum(c["amount"] for c in self.credit_notes.values() if c["invoice"] == invoice["id"])
        if amount <= 0 or credited + amount > invoice["total"]:
            raise StripeFailure(
                400, "The credit note must be positive and at most what is left of the invoice.", param="lines"
            )
        credit_note = {
            "id": new_id("cn"),
            "object": "credit_note",
            "invoice": invoice["id"],
            "customer": invoice["customer"],
            "amount": amount,
            "total": amount,
            "currency": "usd",
            "status": "issued",
            "memo": p.get("memo"),
            "metadata": p.get("metadata") or {},
            "created": self.now(),
        }
        self.credit_notes[credit_note["id"]] = credit_note
        invoice["post_payment_credit_notes_amount"] = credited + amount
        invoice["amount_due"] = max(invoice["total"] - credited - amount, 0)
        return credit_note

    def credit_note_list(self, p):
        notes = [c for c in self.credit_notes.values() if p.get("invoice") in (None, c["invoice"])]
        return stripe_list(notes, "/v1/credit_notes")
