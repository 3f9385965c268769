"""The rounding rules at their ties and the exact messages a bad price request gets (found by mutation testing)."""

from decimal import Decimal

import pytest

from billing import prices
from seedance_saas.errors import InvalidInput


@pytest.mark.parametrize(
    ("amount", "cents"),
    [("1.525", "1.53"), ("1.535", "1.54"), ("0.005", "0.01"), ("2.0049", "2.00"), ("-1.525", "-1.53")],
)
def test_people_see_cents_rounded_half_up_not_half_even(amount, cents):
    assert prices.money_display(Decimal(amount)) == Decimal(cents)


@pytest.mark.parametrize(("amount", "ledger"), [("0.00005", "0.0001"), ("0.00015", "0.0002"), ("0.00025", "0.0003")])
def test_the_ledger_keeps_four_decimals_rounded_half_up(amount, ledger):
    assert prices.money(Decimal(amount)) == Decimal(ledger)


@pytest.mark.parametrize(
    ("measured", "billed"), [(0.5, 1), (1, 1), (1.0001, 1), (1.1, 1), (1.1001, 2), (1.9, 2), (1.8999, 2), (2.5, 3)]
)
def test_auto_bills_the_nearest_second_within_the_tolerance_else_rounds_up(measured, billed):
    assert prices.billed_seconds(requested_duration="auto", measured_seconds=measured) == billed


def _message(call) -> InvalidInput:
    with pytest.raises(InvalidInput) as info:
        call()
    return info.value


def test_an_unknown_resolution_says_which_ones_exist():
    error = _message(lambda: prices.resolution_normalize("4k"))
    assert error.message == "Unknown resolution '4k'."
    assert error.fields == {"resolution": ["Choose one of 480p, 720p, 1080p."]}


def test_a_bad_duration_says_what_is_allowed():
    error = _message(lambda: prices.duration_normalize(16))
    assert error.message == "Duration must be 4-15 seconds or 'auto'."
    assert error.fields == {"duration": ["Use a whole number from 4 to 15, or 'auto'."]}


def test_auto_without_a_measured_length_says_so():
    error = _message(lambda: prices.billed_seconds(requested_duration="auto"))
    assert error.message == "An 'auto' duration needs the measured length of the video to be billed."


@pytest.mark.parametrize(
    ("measured", "message"),
    [
        ("x", "Measured length 'x' is not a number."),
        (0, "Measured length 0 must be a positive number of seconds."),
        (float("inf"), "Measured length inf must be a positive number of seconds."),
    ],
)
def test_a_bad_measured_length_says_what_is_wrong(measured, message):
    error = _message(lambda: prices.billed_seconds(requested_duration="auto", measured_seconds=measured))
    assert error.message == message
