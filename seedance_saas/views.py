"""Site-level pages that draw on several apps (kept here so accounts never imports billing)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from billing import prices as billing_prices
from billing import selectors as billing_selectors


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "landing.html", {"prices": _price_rows()})


def _price_rows() -> list[dict]:
    """The public price book, per second and for two example lengths, rounded by billing's own rule."""
    rows = []
    for resolution, per_second in billing_selectors.price_list().items():
        rows.append(
            {
                "resolution": resolution,
                "per_second": per_second,
                "five_seconds": billing_prices.money_display(per_second * 5),
                "ten_seconds": billing_prices.money_display(per_second * 10),
                "available": resolution != "1080p" or settings.SEEDANCE_ENABLE_1080P,
            }
        )
    return rows
