"""The cost side of the margin: what the provider charges us, or may, for every job it ran."""

from __future__ import annotations

import uuid
from datetime import datetime

from billing import prices
from billing.models import ProviderCharge, SpendAuthorization
from billing.periods import period_start


def provider_charge_record(
    *,
    source_id: uuid.UUID,
    basis: str,
    incurred_at: datetime,
    seconds: int | None = None,
    reason: str = "",
) -> ProviderCharge | None:
    """Record the provider's charge for one job (idempotent; None for a job billing never authorized).

    Without `seconds`, a fixed duration costs what was requested and `auto` the most it could (15 s), marked
    `estimated`: the provider bills by output length, which we never saw.
    """
    authorization = SpendAuthorization.objects.filter(source_id=source_id).first()
    if authorization is None:
        return None
    estimated = False
    if seconds is None:
        if authorization.requested_duration == prices.AUTO:
            seconds, estimated = authorization.seconds, True
        else:
            seconds = int(authorization.requested_duration)
    charge, _ = ProviderCharge.objects.get_or_create(
        source_id=source_id,
        defaults={
            "organization_id": authorization.organization_id,
            "resolution": authorization.resolution,
            "seconds": seconds,
            "amount": prices.provider_cost(resolution=authorization.resolution, seconds=seconds),
            "basis": basis,
            "estimated": estimated,
            "reason": reason[:200],
            "period": period_start(incurred_at),
            "incurred_at": incurred_at,
        },
    )
    return charge
