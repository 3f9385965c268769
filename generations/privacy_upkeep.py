"""The privacy part of the upkeep pass: finish erasures whose files are still pending, delete expired exports."""

from __future__ import annotations

import logging

logger = logging.getLogger(__name__)


def upkeep() -> dict[str, int]:
    """Never lets a storage outage stop the rest of the pass: each part reports 0 and is retried next pass."""
    from generations import privacy, privacy_export

    figures = {}
    jobs = {"erasure_files_deleted": privacy.erasures_sweep, "exports_expired": privacy_export.end_user_exports_expire}
    for name, job in jobs.items():
        try:
            figures[name] = job()
        except Exception:  # noqa: BLE001 -- the dispatcher and poller must keep running whatever this does
            logger.exception("privacy upkeep: %s failed", name)
            figures[name] = 0
    return figures
