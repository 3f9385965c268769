"""One person's mailbox, whatever spelling they sign up with: the key of sign-up caps and trial claims."""

from __future__ import annotations

# Providers known to ignore dots in the local part.
DOTLESS_DOMAINS = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def normalize_email(email: str) -> str:
    """Lower case, without a `+tag`, and for Gmail without dots: `A.B+x@GoogleMail.com` -> `ab@gmail.com`."""
    local, _, domain = email.strip().lower().rpartition("@")
    local = local.split("+", 1)[0]
    if domain in DOTLESS_DOMAINS:
        domain = DOTLESS_DOMAINS[domain]
        local = local.replace(".", "")
    return f"{local}@{domain}"
