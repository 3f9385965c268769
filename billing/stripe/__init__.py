"""Billing's writes that talk to Stripe, one module per concern.

None of these runs inside a database transaction while Stripe is called, and no row lock is held across HTTP.
"""
