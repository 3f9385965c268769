"""Signals accounts sends so that layers above it (billing) can react without an import cycle."""

from django.dispatch import Signal

# Sent inside the creating transaction with `organization`.
organization_created = Signal()
