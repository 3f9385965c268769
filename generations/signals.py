"""Signals generations offers to the apps built on it (storyboards), so that it never imports them."""

from __future__ import annotations

import logging
import uuid

from django.dispatch import Signal

logger = logging.getLogger(__name__)

# Sent after a generation's terminal transition has committed (succeeded, failed or canceled), with
# `generation_id`. Receivers should only enqueue work: they run in the worker that finished the generation.
generation_ended = Signal()


def generation_ended_send(*, generation_id: uuid.UUID | str) -> None:
    """Tell the receivers; one that fails is logged and does not stop the others (their upkeep catches up)."""
    for receiver, result in generation_ended.send_robust(sender=None, generation_id=generation_id):
        if isinstance(result, Exception):
            logger.error("generation_ended receiver %r failed: %s", receiver, result, exc_info=result)


# Sent inside the erasing transaction with `organization`, `end_user` (now carrying its anonymous id) and
# `generation_ids` (every generation of theirs, all blanked by now). A receiver erases what its app holds about
# them (a storyboard's shots' prompts, say) in the same transaction; files it wants deleted it returns as a list
# of storage names, which join the erasure's durable `files_pending`.
end_user_erased = Signal()
