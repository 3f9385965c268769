"""The price book: every rate, every rounding rule and the billed-seconds rule live here and nowhere else."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal, InvalidOperation

from seedance_saas.errors import InvalidInput

CURRENCY = "usd"
RESOLUTIONS = ("480p", "720p", "1080p")
DEFAULT_RESOLUTION = "720p"
MIN_SECONDS = 4
MAX_SECONDS = 15
AUTO = "auto"
# What the provider charges us per second (USD); the default plan sells at exactly these rates.
PROVIDER_COST_PER_SECOND = {"480p": Decimal("0.1412"), "720p": Decimal("0.3024"), "1080p": Decimal("0.685")}
# `auto` bills the measured length: within this of a whole second it rounds to it (a real 5.042 s MP4 is 5 s:
# encoders end a clip a frame or an audio packet past the second), farther away it rounds up (5.3 s is 6 s).
AUTO_TOLERANCE_S = Decimal("0.1")
LEDGER_QUANTUM = Decimal("0.0001")
CENT = Decimal("0.01")


def money(value: Decimal | int | str) -> Decimal:
    """A ledger amount: 4 decimals, half up."""
    return Decimal(value).quantize(LEDGER_QUANTUM, rounding=ROUND_HALF_UP)


def money_display(value: Decimal) -> Decimal:
    """An amount for people: cents, half up."""
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def resolution_normalize(resolution: str | None) -> str:
    resolution = resolution or DEFAULT_RESOLUTION
    if resolution not in RESOLUTIONS:
        raise InvalidInput(
            f"Unknown resolution {resolution!r}.", fields={"resolution": [f"Choose one of {', '.join(RESOLUTIONS)}."]}
        )
    return resolution


def duration_normalize(duration: int | str | None) -> int | str:
    """A whole number of seconds in 4..15, or "auto" (None means auto)."""
    if duration is None or duration == AUTO:
        return AUTO
    try:
        seconds = int(str(duration))
    except ValueError:
        seconds = None
    if seconds is None or not MIN_SECONDS <= seconds <= MAX_SECONDS:
        raise InvalidInput(
            f"Duration must be {MIN_SECONDS}-{MAX_SECONDS} seconds or 'auto'.",
            fields={"duration": [f"Use a whole number from {MIN_SECONDS} to {MAX_SECONDS}, or 'auto'."]},
        )
    return seconds


def billed_seconds(*, requested_duration: int | str | None, measured_seconds: float | Decimal | None = None) -> int:
    """A fixed duration bills as requested; "auto" bills the measured length as a whole number of seconds.

    Within AUTO_TOLERANCE_S of a whole second the length rounds to it (5.042 -> 5, 4.95 -> 5), otherwise up
    (5.2 -> 6), and never below 1 s. The provider's answer carries no billed length of its own (only
    `metrics.predict_time`), so the length measured from the file is the one we have.
    """
    duration = duration_normalize(requested_duration)
    if duration != AUTO:
        return duration
    if measured_seconds is None:
        raise InvalidInput("An 'auto' duration needs the measured length of the video to be billed.")
    try:
        # Via str() so a float like 4.0 is not read as 4.0000000000000001.
        measured = Decimal(str(measured_seconds))
    except InvalidOperation as exc:
        raise InvalidInput(f"Measured length {measured_seconds!r} is not a number.") from exc
    if not measured.is_finite() or measured <= 0:
        raise InvalidInput(f"Measured length {measured_seconds!r} must be a positive number of seconds.")
    nearest = measured.to_integral_value(rounding=ROUND_HALF_UP)
    seconds = nearest if abs(measured - nearest) <= AUTO_TOLERANCE_S else measured.to_integral_value(ROUND_CEILING)
    return max(int(seconds), 1)


def seconds_range(duration: int | str | None) -> tuple[int, int]:
    """The fewest and most seconds a request can bill: exact for a fixed duration, 4..15 for auto."""
    duration = duration_normalize(duration)
    if duration == AUTO:
        return MIN_SECONDS, MAX_SECONDS
    return duration, duration


def amount(*, unit_price: Decimal, seconds: int) -> Decimal:
    return money(Decimal(unit_price) * seconds)


def provider_cost(*, resolution: str, seconds: int) -> Decimal:
    return amount(unit_price=PROVIDER_COST_PER_SECOND[resolution], seconds=seconds)


def stripe_unit_amount_decimal(unit_price: Decimal) -> str:
    """A per-second price in cents, as Stripe's `unit_amount_decimal` wants it (0.3024 USD -> "30.24")."""
    cents = (Decimal(unit_price) * 100).quantize(Decimal("0.000001")).normalize()
    return format(cents, "f")


def invoice_line_amount(*, unit_price: Decimal, seconds: int) -> Decimal:
    """What one invoice line (one price: one resolution at one rate) comes to: Stripe multiplies the summed
    quantity by the unit price and rounds the line, not each event, to the cent (half up)."""
    return money_display(Decimal(unit_price) * seconds)


def credit_amount(refunded: Decimal) -> Decimal:
    """A refund credited on an invoice: a credit note is a whole number of cents."""
    return money_display(abs(Decimal(refunded)))


def invoice_total(*, line_amounts, credits=()) -> Decimal:
    """An invoice: its rounded lines less its rounded credit notes."""
    return sum(line_amounts, Decimal("0.00")) - sum(credits, Decimal("0.00"))


def stripe_cents(amount: Decimal) -> int:
    """A cent-rounded amount as Stripe's integer cents."""
    return int(money_display(amount) * 100)
