"""The price table: every resolution x every duration, auto with measured lengths, and the rounding rules."""

from decimal import Decimal

import pytest

from billing import prices, selectors, services
from seedance_saas.errors import InvalidInput

LIST = {"480p": Decimal("0.1412"), "720p": Decimal("0.3024"), "1080p": Decimal("0.685")}


@pytest.mark.parametrize("resolution", ["480p", "720p", "1080p"])
@pytest.mark.parametrize("duration", range(4, 16))
def test_fixed_duration_quotes_the_exact_list_price(organization, resolution, duration):
    quote = services.quote(organization=organization, resolution=resolution, duration=duration)
    expected = (LIST[resolution] * duration).quantize(Decimal("0.0001"))
    assert (quote.min_seconds, quote.max_seconds) == (duration, duration)
    assert quote.min_amount == quote.max_amount == quote.authorized_amount == expected
    assert prices.billed_seconds(requested_duration=duration, measured_seconds=3.2) == duration
    assert prices.billed_seconds(requested_duration=str(duration)) == duration


@pytest.mark.parametrize(
    ("measured", "billed"),
    [
        (4.0, 4),
        (4.01, 4),
        (5.042, 5),  # a real MP4's length: within 0.1 s of a whole second rounds to it
        (5.1, 5),
        (4.9, 5),
        (5.101, 6),  # farther than 0.1 s rounds up
        (4.5, 5),
        (5.2, 6),
        (5, 5),
        (9.999, 10),
        (14.99, 15),
        (15.0, 15),
        (Decimal("7.0001"), 7),
        (Decimal("7.8999"), 8),
        ("6", 6),
        (0.05, 1),  # never bills 0 s
    ],
)
@pytest.mark.parametrize("resolution", ["480p", "720p", "1080p"])
def test_auto_bills_the_measured_length_to_the_nearest_second_within_tolerance_else_up(
    organization, resolution, measured, billed
):
    assert prices.billed_seconds(requested_duration="auto", measured_seconds=measured) == billed
    assert prices.billed_seconds(requested_duration=None, measured_seconds=measured) == billed
    quote = services.quote(organization=organization, resolution=resolution, duration="auto")
    assert (quote.min_seconds, quote.max_seconds) == (4, 15)
    assert quote.min_amount == (LIST[resolution] * 4).quantize(Decimal("0.0001"))
    assert quote.authorized_amount == quote.max_amount == (LIST[resolution] * 15).quantize(Decimal("0.0001"))


def test_resolution_defaults_to_720p_and_public_prices_are_list_rates():
    quote = services.quote(organization=None, resolution=None, duration=5)
    assert quote.resolution == "720p"
    assert quote.max_amount == Decimal("1.5120")
    assert quote.currency == "usd"
    assert selectors.price_list() == LIST


def test_amounts_keep_four_decimals_half_up():
    assert prices.amount(unit_price=Decimal("0.12345"), seconds=1) == Decimal("0.1235")
    assert prices.money_display(Decimal("1.5125")) == Decimal("1.51")
    assert prices.money_display(Decimal("1.5150")) == Decimal("1.52")
    assert prices.stripe_unit_amount_decimal(Decimal("0.3024")) == "30.24"
    assert prices.stripe_unit_amount_decimal(Decimal("0.685")) == "68.5"


@pytest.mark.parametrize("duration", [3, 16, 0, -4, "ten", "4.5", ""])
def test_bad_durations_are_invalid_input(duration):
    with pytest.raises(InvalidInput) as info:
        services.quote(organization=None, resolution="720p", duration=duration)
    assert "duration" in info.value.fields


@pytest.mark.parametrize("measured", [None, 0, -1, "x", float("nan")])
def test_auto_needs_a_positive_measured_length(measured):
    with pytest.raises(InvalidInput):
        prices.billed_seconds(requested_duration="auto", measured_seconds=measured)


def test_unknown_resolution_is_invalid_input():
    with pytest.raises(InvalidInput) as info:
        services.quote(organization=None, resolution="4k", duration=5)
    assert "resolution" in info.value.fields


def test_an_edited_plan_changes_the_quote(organization):
    account = selectors.billing_account(organization=organization)
    plan = account.plan
    plan.price_720p = Decimal("0.4000")
    plan.save()
    assert services.quote(organization=organization, resolution="720p", duration=10).max_amount == Decimal("4.0000")


def test_an_invoice_line_rounds_its_total_once_not_each_record():
    # Three 1 s records of 720p: $0.3024 each; the line is 3 x 0.3024 = 0.9072 -> $0.91 (not 3 x $0.30).
    assert prices.invoice_line_amount(unit_price=Decimal("0.3024"), seconds=3) == Decimal("0.91")
    assert prices.invoice_line_amount(unit_price=Decimal("0.1412"), seconds=25) == Decimal("3.53")  # 3.5300
    assert prices.invoice_line_amount(unit_price=Decimal("0.685"), seconds=1) == Decimal("0.69")  # half up
    assert prices.invoice_total(line_amounts=[Decimal("0.91"), Decimal("3.53")], credits=[Decimal("0.30")]) == Decimal(
        "4.14"
    )
    assert prices.stripe_cents(Decimal("465.34")) == 46534
