"""Every write of the generation lifecycle, split by stage; callers use the names re-exported here."""

from generations.services.creation import generation_cancel, generation_create, generation_retry
from generations.services.dispatch import dispatch_pending, generation_claim_next
from generations.services.polling import WEBHOOK_SEEN_CACHE_KEY, expected_processing_s
from generations.services.provider_keys import (
    provider_key_create,
    provider_key_default_ensure,
    provider_key_fingerprint,
    provider_key_resume,
    provider_key_set_secret,
    provider_key_state,
    provider_keys_reencrypt,
    provider_resume,
)
from generations.services.tracking import (
    generation_for_webhook,
    generation_progress,
    generation_refresh,
    poll_due,
    webhook_received,
)
from generations.services.transitions import (
    DISPATCH_WAKE_CACHE_KEY,
    generation_publish_terminal_event,
    wake_dispatcher,
)
from generations.services.upkeep import fail_overdue, recover_stuck_submissions, upkeep_pass

__all__ = [
    "DISPATCH_WAKE_CACHE_KEY",
    "WEBHOOK_SEEN_CACHE_KEY",
    "dispatch_pending",
    "expected_processing_s",
    "fail_overdue",
    "generation_cancel",
    "generation_claim_next",
    "generation_create",
    "generation_for_webhook",
    "generation_progress",
    "generation_publish_terminal_event",
    "generation_refresh",
    "generation_retry",
    "poll_due",
    "provider_key_create",
    "provider_key_default_ensure",
    "provider_key_fingerprint",
    "provider_key_resume",
    "provider_key_set_secret",
    "provider_key_state",
    "provider_keys_reencrypt",
    "provider_resume",
    "recover_stuck_submissions",
    "upkeep_pass",
    "wake_dispatcher",
    "webhook_received",
]
