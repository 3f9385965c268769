"""The fake's customers, products and prices."""

from __future__ import annotations

from tests.fakes.stripe_server.common import StripeFailure, missing, new_id, require, stripe_list


class CatalogMixin:
    def routes(self) -> list:
        return [
            ("POST", r"/v1/customers", self.customer_create),
            ("GET", r"/v1/customers/(?P<id>[^/]+)", self.customer_get),
            ("POST", r"/v1/products", self.product_create),
            ("GET", r"/v1/products/(?P<id>[^/]+)", self.product_get),
            ("POST", r"/v1/products/(?P<id>[^/]+)", self.product_update),
            ("POST", r"/v1/prices", self.price_create),
            ("GET", r"/v1/prices", self.price_list),
            ("POST", r"/v1/prices/(?P<id>[^/]+)", self.price_update),
            *super().routes(),
        ]

    def customer_create(self, p):
        customer = {
            "id": new_id("cus"),
            "object": "customer",
            "name": p.get("name"),
            "email": p.get("email"),
            "metadata": p.get("metadata") or {},
            "created": self.now(),
            "livemode": False,
        }
        self.customers[customer["id"]] = customer
        return customer

    def customer_get(self, p, id):
        if id not in self.customers:
            raise missing("customer", id)
        return self.customers[id]

    def product_create(self, p):
        require(p, "name")
        product_id = p.get("id") or new_id("prod")
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
            "created": self.now(),
        }
        self.products[product_id] = product
        return product

    def product_get(self, p, id):
        if id not in self.products:
            raise missing("product", id)
        return self.products[id]

    def product_update(self, p, id):
        product = self.product_get(p, id)
        if "name" in p:
            product["name"] = p["name"]
        if "active" in p:
            product["active"] = p["active"] == "true"
        return product

    def price_create(self, p):
        require(p, "currency", "product")
        if p["product"] not in self.products:
            raise missing("product", p["product"], "product")
        recurring = p.get("recurring")
        if recurring:
            require(recurring, "interval")
            if recurring.get("usage_type") == "metered":
                meter = recurring.get("meter")
                if not meter:
                    raise StripeFailure(
                        400, "Metered prices must be backed by a meter: set recurring[meter].", param="recurring[meter]"
                    )
                if meter not in self.meters:
                    raise missing("billing meter", meter, "recurring[meter]")
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
            "id": new_id("price"),
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
            "created": self.now(),
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
        return stripe_list(prices, "/v1/prices")

    def price_update(self, p, id):
        if id not in self.prices:
            raise missing("price", id)
        price = self.prices[id]
        if "active" in p:
            price["active"] = p["active"] == "true"
        return price
