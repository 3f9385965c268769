"""Signals accounts sends so that layers above it (billing) can react without an import cycle."""

from django.dispatch import Signal

# Sent inside the creating transaction with `organization` and `self_service` (a sign-up, not an operator).
organization_created = Signal()
