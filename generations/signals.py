"""Signals generations sends so that apps above it (storyboards) can react without generations importing them."""

from django.dispatch import Signal

# Sent inside the erasing transaction with `organization`, `end_user` (now carrying its anonymous id) and
# `generation_ids` (every generation of theirs, all blanked by now). A receiver erases what its app holds about
# them (a storyboard's shots' prompts, say) in the same transaction; files it wants deleted it returns as a list
# of storage names, which join the erasure's durable `files_pending`.
end_user_erased = Signal()
