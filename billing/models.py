"""Price book, plans and the usage ledger (built in the billing issue)."""
