"""Small pieces the billing admin modules share."""


class ReadOnlyMixin:
    """Records nobody edits by hand: the ledger's Stripe bookkeeping, audit entries, provider charges."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
